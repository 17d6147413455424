//! A minimal safetensors reader: parses the JSON header, reads one tensor at a time (so peak
//! memory stays near the converted weights) and converts F32 / F16 / BF16 to `f32`; plus the
//! streaming SHA-256 of the file that runs record as the model's identity.

use crate::error::{EncoderError, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    BF16,
    Other,
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    begin: u64,
    end: u64,
}

/// An open safetensors file.
pub struct SafeTensors {
    path: PathBuf,
    file: File,
    data_start: u64,
    entries: HashMap<String, Entry>,
}

impl SafeTensors {
    /// Opens `path` and parses its header.
    pub fn open(path: &Path) -> Result<SafeTensors> {
        let bad = |reason: String| EncoderError::Safetensors {
            path: path.into(),
            reason,
        };
        let mut file = File::open(path).map_err(|e| EncoderError::io(path, e))?;
        let file_len = file
            .metadata()
            .map_err(|e| EncoderError::io(path, e))?
            .len();
        let mut len8 = [0u8; 8];
        file.read_exact(&mut len8)
            .map_err(|e| EncoderError::io(path, e))?;
        let header_len = u64::from_le_bytes(len8);
        if header_len > 100 << 20 || 8 + header_len > file_len {
            return Err(bad(format!("implausible header length {header_len}")));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)
            .map_err(|e| EncoderError::io(path, e))?;
        let json: serde_json::Value =
            serde_json::from_slice(&header).map_err(|e| bad(format!("header is not JSON: {e}")))?;
        let obj = json
            .as_object()
            .ok_or_else(|| bad("header is not a JSON object".into()))?;
        let data_start = 8 + header_len;
        let mut entries = HashMap::new();
        for (name, v) in obj {
            if name == "__metadata__" {
                continue;
            }
            let dtype = match v.get("dtype").and_then(|d| d.as_str()) {
                Some("F32") => Dtype::F32,
                Some("F16") => Dtype::F16,
                Some("BF16") => Dtype::BF16,
                Some(_) => Dtype::Other,
                None => return Err(bad(format!("{name}: no dtype"))),
            };
            let shape: Vec<usize> = v
                .get("shape")
                .and_then(|s| s.as_array())
                .ok_or_else(|| bad(format!("{name}: no shape")))?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(format!("{name}: bad shape")))?;
            let offs = v
                .get("data_offsets")
                .and_then(|s| s.as_array())
                .filter(|a| a.len() == 2)
                .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
                .ok_or_else(|| bad(format!("{name}: bad data_offsets")))?;
            if offs.0 > offs.1 || data_start + offs.1 > file_len {
                return Err(bad(format!("{name}: data_offsets outside the file")));
            }
            entries.insert(
                name.clone(),
                Entry {
                    dtype,
                    shape,
                    begin: offs.0,
                    end: offs.1,
                },
            );
        }
        Ok(SafeTensors {
            path: path.into(),
            file,
            data_start,
            entries,
        })
    }

    /// Whether a tensor of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// All tensor names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(|s| s.as_str())
    }

    /// A row reader over the 2-D tensor `name` of shape `[rows, cols]`.
    pub fn rows(&self, name: &str, rows: usize, cols: usize) -> Result<RowSource> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| EncoderError::Weights(format!("missing tensor {name}")))?;
        if e.shape != [rows, cols] {
            return Err(EncoderError::Weights(format!(
                "{name}: shape {:?}, expected {:?}",
                e.shape,
                [rows, cols]
            )));
        }
        let width = match e.dtype {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            Dtype::Other => {
                return Err(EncoderError::Weights(format!("{name}: unsupported dtype")))
            }
        };
        if (e.end - e.begin) as usize != rows * cols * width {
            return Err(EncoderError::Weights(format!(
                "{name}: byte size does not match its shape"
            )));
        }
        let file = self
            .file
            .try_clone()
            .map_err(|err| EncoderError::io(&self.path, err))?;
        Ok(RowSource {
            path: self.path.clone(),
            file,
            start: self.data_start + e.begin,
            dtype: e.dtype,
            rows,
            cols,
        })
    }

    /// Reads tensor `name` as `f32`, checking its shape.
    pub fn read_f32(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| EncoderError::Weights(format!("missing tensor {name}")))?
            .clone();
        if e.shape != shape {
            return Err(EncoderError::Weights(format!(
                "{name}: shape {:?}, expected {:?}",
                e.shape, shape
            )));
        }
        let count: usize = shape.iter().product();
        let width = match e.dtype {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            Dtype::Other => {
                return Err(EncoderError::Weights(format!(
                    "{name}: unsupported dtype (F32, F16, BF16 are)"
                )))
            }
        };
        if (e.end - e.begin) as usize != count * width {
            return Err(EncoderError::Weights(format!(
                "{name}: byte size does not match its shape"
            )));
        }
        self.file
            .seek(SeekFrom::Start(self.data_start + e.begin))
            .map_err(|err| EncoderError::io(&self.path, err))?;
        // Convert in 1 MiB pieces so loading never holds a tensor twice.
        let mut out = Vec::with_capacity(count);
        let mut buf = vec![0u8; (1 << 20) / width * width];
        let mut left = count * width;
        while left > 0 {
            let n = left.min(buf.len());
            self.file
                .read_exact(&mut buf[..n])
                .map_err(|err| EncoderError::io(&self.path, err))?;
            let piece = &buf[..n];
            match e.dtype {
                Dtype::F32 => out.extend(
                    piece
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                ),
                Dtype::F16 => out.extend(
                    piece
                        .chunks_exact(2)
                        .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))),
                ),
                Dtype::BF16 => out.extend(
                    piece
                        .chunks_exact(2)
                        .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)),
                ),
                Dtype::Other => unreachable!("rejected above"),
            }
            left -= n;
        }
        Ok(out)
    }
}

/// Rows of a 2-D tensor read from the file on demand (positioned reads, no memory map), for
/// embedding tables too large to be worth holding: the multilingual models' 250k-token
/// tables are 384 MB, of which a batch touches a few hundred rows (the OS page cache keeps
/// the hot ones). Safe to share between threads.
pub struct RowSource {
    path: PathBuf,
    file: File,
    start: u64,
    dtype: Dtype,
    rows: usize,
    cols: usize,
}

impl RowSource {
    /// Reads row `i` into `out` (`cols` values) as `f32`.
    pub fn read_row(&self, i: usize, out: &mut [f32]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        if i >= self.rows || out.len() != self.cols {
            return Err(EncoderError::Weights(format!(
                "row {i} outside the table ({} rows)",
                self.rows
            )));
        }
        let width = if self.dtype == Dtype::F32 { 4 } else { 2 };
        let mut buf = [0u8; 4096];
        let mut done = 0;
        while done < self.cols {
            let n = (self.cols - done).min(buf.len() / width);
            let at = self.start + ((i * self.cols + done) * width) as u64;
            self.file
                .read_exact_at(&mut buf[..n * width], at)
                .map_err(|e| EncoderError::io(&self.path, e))?;
            let dst = &mut out[done..done + n];
            match self.dtype {
                Dtype::F32 => {
                    for (d, b) in dst.iter_mut().zip(buf.chunks_exact(4)) {
                        *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
                Dtype::F16 => {
                    for (d, b) in dst.iter_mut().zip(buf.chunks_exact(2)) {
                        *d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
                    }
                }
                _ => {
                    for (d, b) in dst.iter_mut().zip(buf.chunks_exact(2)) {
                        *d = f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16);
                    }
                }
            }
            done += n;
        }
        Ok(())
    }
}

/// IEEE half → single precision (subnormals, infinities and NaN included).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: renormalize.
            let shift = m.leading_zeros() - 21; // bring the top bit to position 10
            let m = (m << shift) & 0x3ff;
            let e = 127 - 15 + 1 - shift;
            sign | (e << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Hex SHA-256 of a file, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| EncoderError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| EncoderError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x0200), 3.051_757_8e-5);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    pub(crate) fn write_safetensors(
        path: &Path,
        tensors: &[(&str, Vec<usize>, Vec<f32>)],
        dtype: &str,
    ) {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, shape, values) in tensors {
            let begin = data.len();
            for v in values {
                match dtype {
                    "F32" => data.extend_from_slice(&v.to_le_bytes()),
                    "BF16" => data.extend_from_slice(&((v.to_bits() >> 16) as u16).to_le_bytes()),
                    _ => panic!("dtype"),
                }
            }
            header.insert(
                name.to_string(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [begin, data.len()]}),
            );
        }
        let h = serde_json::to_vec(&header).unwrap();
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        out.extend_from_slice(&data);
        std::fs::write(path, out).unwrap();
    }

    #[test]
    fn reads_f32_and_bf16_and_checks_shapes() {
        let dir = std::env::temp_dir().join(format!("mp-enc-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.safetensors");
        write_safetensors(&p, &[("x", vec![2, 2], vec![1.0, -2.0, 0.5, 3.0])], "F32");
        let mut st = SafeTensors::open(&p).unwrap();
        assert_eq!(
            st.read_f32("x", &[2, 2]).unwrap(),
            vec![1.0, -2.0, 0.5, 3.0]
        );
        assert!(st.read_f32("x", &[4]).is_err());
        assert!(st.read_f32("y", &[4]).is_err());
        write_safetensors(&p, &[("x", vec![3], vec![1.0, -2.0, 0.5])], "BF16");
        let mut st = SafeTensors::open(&p).unwrap();
        assert_eq!(st.read_f32("x", &[3]).unwrap(), vec![1.0, -2.0, 0.5]);
        std::fs::write(&p, b"garbage").unwrap();
        assert!(SafeTensors::open(&p).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
