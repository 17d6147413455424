//! NumPy `.npy` (format 1.0, little-endian `f32`, C order) for embedding matrices: a writer
//! that streams rows and fixes the row count in the header at the end, and a reader.

use std::io::{Read, Seek, SeekFrom, Write};

/// Header length, padded so the data starts 64-byte aligned and the row count can be
/// rewritten in place.
const HEADER_LEN: usize = 128;

fn header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    let body_len = HEADER_LEN - 10;
    h.extend_from_slice(&(body_len as u16).to_le_bytes());
    let mut body = dict.into_bytes();
    body.resize(body_len - 1, b' ');
    body.push(b'\n');
    h.extend_from_slice(&body);
    h
}

/// Streams `f32` rows into a `.npy` file.
pub struct NpyWriter<W: Write + Seek> {
    out: W,
    cols: usize,
    rows: usize,
}

impl<W: Write + Seek> NpyWriter<W> {
    /// Starts a matrix of `cols` columns.
    pub fn new(mut out: W, cols: usize) -> std::io::Result<Self> {
        out.write_all(&header(0, cols))?;
        Ok(NpyWriter { out, cols, rows: 0 })
    }

    /// Appends one row (`cols` values).
    pub fn write_row(&mut self, row: &[f32]) -> std::io::Result<()> {
        if row.len() != self.cols {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "row width differs from the matrix",
            ));
        }
        let mut buf = Vec::with_capacity(row.len() * 4);
        for v in row {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        self.out.write_all(&buf)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes the final row count into the header; returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header(self.rows, self.cols))?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a 2-D little-endian `f32` `.npy` file: `(rows, cols, data)`.
pub fn read_f32_matrix(mut r: impl Read) -> std::io::Result<(usize, usize, Vec<f32>)> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("npy: {m}"));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy file"));
    }
    let hlen = if magic[6] == 1 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b)?;
        u16::from_le_bytes(b) as usize
    } else {
        let mut b = [0u8; 4];
        r.read_exact(&mut b)?;
        u32::from_le_bytes(b) as usize
    };
    let mut h = vec![0u8; hlen];
    r.read_exact(&mut h)?;
    let h = String::from_utf8_lossy(&h);
    if !h.contains("'<f4'") || h.contains("'fortran_order': True") {
        return Err(bad("only C-order little-endian float32 is supported"));
    }
    let shape = h
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_, _>>()?;
    let (rows, cols) = match dims.as_slice() {
        [r, c] => (*r, *c),
        [r] => (1, *r),
        _ => return Err(bad("expected a 2-D matrix")),
    };
    let mut bytes = vec![0u8; rows * cols * 4];
    r.read_exact(&mut bytes)?;
    let data = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((rows, cols, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = NpyWriter::new(std::io::Cursor::new(Vec::new()), 3).unwrap();
        w.write_row(&[1.0, 2.0, 3.0]).unwrap();
        w.write_row(&[4.0, 5.0, -6.5]).unwrap();
        assert!(w.write_row(&[1.0]).is_err());
        let buf = w.finish().unwrap().into_inner();
        assert_eq!(buf.len(), HEADER_LEN + 24);
        let (r, c, d) = read_f32_matrix(&buf[..]).unwrap();
        assert_eq!((r, c), (2, 3));
        assert_eq!(d, vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5]);
    }
}
