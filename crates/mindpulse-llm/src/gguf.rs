//! GGUF reader: header, metadata key/values and the tensor directory (versions 2 and 3).
//!
//! Every read is bounds-checked: a truncated or corrupt file gives a [`LlmError::Gguf`]
//! that says what was being read and where, never a panic or a huge allocation.

use crate::quant::GgmlType;
use crate::LlmError;
use std::collections::HashMap;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// The value as an unsigned integer, when it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// One entry of the tensor directory.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the innermost (contiguous) dimension.
    pub dims: Vec<usize>,
    pub ty: GgmlType,
    /// Absolute byte offset of the data in the file.
    pub offset: usize,
    /// Size of the data in bytes.
    pub size: usize,
}

impl TensorInfo {
    pub fn n_elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// A parsed GGUF file (header only; the tensor data stays in the caller's buffer).
#[derive(Debug)]
pub struct Gguf {
    pub version: u32,
    pub metadata: HashMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    index: HashMap<String, usize>,
}

impl Gguf {
    /// Parses the header of `buf` (the whole file) and checks that every tensor lies inside it.
    pub fn parse(buf: &[u8]) -> Result<Gguf, LlmError> {
        let mut r = Reader { buf, pos: 0 };
        let magic = r.bytes(4, "magic")?;
        if magic != b"GGUF" {
            return Err(LlmError::Gguf(format!(
                "not a GGUF file (magic {:02x?}, expected \"GGUF\")",
                magic
            )));
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(LlmError::Unsupported(format!(
                "GGUF version {version} (supported: 2, 3)"
            )));
        }
        let n_tensors = r.u64("tensor count")?;
        let n_kv = r.u64("metadata count")?;
        // Each entry takes at least 8+4 (kv) / 8+4+4+8 (tensor) bytes: reject absurd counts
        // before allocating anything.
        if n_kv > (buf.len() / 12) as u64 || n_tensors > (buf.len() / 24) as u64 {
            return Err(LlmError::Gguf(format!(
                "implausible header: {n_tensors} tensors, {n_kv} metadata entries in a file of {} bytes",
                buf.len()
            )));
        }
        let mut metadata = HashMap::with_capacity(n_kv as usize);
        for i in 0..n_kv {
            let key = r.string(&format!("metadata key #{i}"))?;
            let ty = r.u32(&format!("type of metadata {key:?}"))?;
            let value = r.value(ty, &key, 0)?;
            metadata.insert(key, value);
        }
        let mut raw = Vec::with_capacity(n_tensors as usize);
        for i in 0..n_tensors {
            let name = r.string(&format!("name of tensor #{i}"))?;
            let n_dims = r.u32(&format!("dimension count of tensor {name:?}"))?;
            if n_dims == 0 || n_dims > 4 {
                return Err(LlmError::Gguf(format!(
                    "tensor {name:?} has {n_dims} dimensions (expected 1 to 4)"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                let d = r.u64(&format!("dimensions of tensor {name:?}"))?;
                let d = usize::try_from(d)
                    .ok()
                    .filter(|&d| d > 0 && d < (1 << 40))
                    .ok_or_else(|| {
                        LlmError::Gguf(format!("tensor {name:?} has an invalid dimension {d}"))
                    })?;
                dims.push(d);
            }
            let ty_id = r.u32(&format!("type of tensor {name:?}"))?;
            let ty = GgmlType::from_id(ty_id).ok_or_else(|| {
                LlmError::Unsupported(format!("tensor {name:?} has ggml type {ty_id}"))
            })?;
            let offset = r.u64(&format!("offset of tensor {name:?}"))?;
            raw.push((name, dims, ty, offset));
        }
        let alignment = match metadata.get("general.alignment") {
            None => 32,
            Some(v) => v
                .as_u64()
                .filter(|a| *a > 0 && *a <= 1 << 20 && a.is_power_of_two())
                .ok_or_else(|| LlmError::Gguf(format!("invalid general.alignment {v:?}")))?
                as usize,
        };
        let data_start = r.pos.div_ceil(alignment) * alignment;
        let mut tensors = Vec::with_capacity(raw.len());
        let mut index = HashMap::with_capacity(raw.len());
        for (name, dims, ty, offset) in raw {
            let n: usize = dims
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| LlmError::Gguf(format!("tensor {name:?} is too large")))?;
            if dims[0] % ty.block_len() != 0 {
                return Err(LlmError::Gguf(format!(
                    "tensor {name:?}: row length {} is not a multiple of the {:?} block size {}",
                    dims[0],
                    ty,
                    ty.block_len()
                )));
            }
            let size = n / ty.block_len() * ty.block_bytes();
            let start = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(data_start))
                .ok_or_else(|| LlmError::Gguf(format!("tensor {name:?} has offset {offset}")))?;
            let end = start.checked_add(size).filter(|&e| e <= buf.len()).ok_or_else(|| {
                LlmError::Gguf(format!(
                    "tensor {name:?} ({size} bytes at {start}) runs past the end of the file ({} bytes): the file is truncated or corrupt",
                    buf.len()
                ))
            })?;
            let _ = end;
            index.insert(name.clone(), tensors.len());
            tensors.push(TensorInfo {
                name,
                dims,
                ty,
                offset: start,
                size,
            });
        }
        Ok(Gguf {
            version,
            metadata,
            tensors,
            index,
        })
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.index.get(name).map(|&i| &self.tensors[i])
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    /// A required unsigned integer, with an error naming the key.
    pub fn require_u64(&self, key: &str) -> Result<u64, LlmError> {
        self.get_u64(key)
            .ok_or_else(|| LlmError::Gguf(format!("metadata {key:?} is missing or not an integer")))
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], LlmError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(LlmError::Gguf(format!(
                "truncated file: reading {what} at byte {} needs {n} bytes, the file has {}",
                self.pos,
                self.buf.len()
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], LlmError> {
        let b = self.bytes(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32, LlmError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, LlmError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, LlmError> {
        let len = self.u64(what)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= self.buf.len())
            .ok_or_else(|| {
                LlmError::Gguf(format!(
                    "{what}: invalid string length {len} at byte {}",
                    self.pos
                ))
            })?;
        let b = self.bytes(len, what)?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    fn value(&mut self, ty: u32, key: &str, depth: u32) -> Result<Value, LlmError> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>(key)?[0]),
            1 => Value::I8(self.array::<1>(key)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(key)?)),
            4 => Value::U32(u32::from_le_bytes(self.array(key)?)),
            5 => Value::I32(i32::from_le_bytes(self.array(key)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(key)?)),
            7 => Value::Bool(self.array::<1>(key)?[0] != 0),
            8 => Value::String(self.string(key)?),
            9 => {
                if depth > 2 {
                    return Err(LlmError::Gguf(format!(
                        "metadata {key:?}: arrays nested too deep"
                    )));
                }
                let elem_ty = self.u32(key)?;
                let n = self.u64(key)?;
                // Every element takes at least one byte.
                let n = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= self.buf.len() - self.pos)
                    .ok_or_else(|| {
                        LlmError::Gguf(format!(
                            "metadata {key:?}: array of {n} elements does not fit in the file (truncated or corrupt)"
                        ))
                    })?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.value(elem_ty, key, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(u64::from_le_bytes(self.array(key)?)),
            11 => Value::I64(i64::from_le_bytes(self.array(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(key)?)),
            other => {
                return Err(LlmError::Gguf(format!(
                    "metadata {key:?} has unknown value type {other}"
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid GGUF: two metadata entries and one F32 tensor of 4 values.
    pub(crate) fn tiny_gguf() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"GGUF");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes()); // tensors
        b.extend_from_slice(&2u64.to_le_bytes()); // kv
        let s = |b: &mut Vec<u8>, s: &str| {
            b.extend_from_slice(&(s.len() as u64).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        };
        s(&mut b, "general.architecture");
        b.extend_from_slice(&8u32.to_le_bytes());
        s(&mut b, "llama");
        s(&mut b, "tokenizer.ggml.scores");
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        b.extend_from_slice(&1.5f32.to_le_bytes());
        b.extend_from_slice(&(-2.0f32).to_le_bytes());
        s(&mut b, "w");
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&4u64.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // F32
        b.extend_from_slice(&0u64.to_le_bytes());
        while b.len() % 32 != 0 {
            b.push(0);
        }
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    #[test]
    fn parses_a_tiny_file() {
        let b = tiny_gguf();
        let g = Gguf::parse(&b).expect("valid file");
        assert_eq!(g.version, 3);
        assert_eq!(g.get_str("general.architecture"), Some("llama"));
        assert_eq!(
            g.get("tokenizer.ggml.scores"),
            Some(&Value::Array(vec![Value::F32(1.5), Value::F32(-2.0)]))
        );
        let t = g.tensor("w").expect("tensor w");
        assert_eq!(t.dims, vec![4]);
        assert_eq!(t.size, 16);
        assert_eq!(t.offset + t.size, b.len());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let b = tiny_gguf();
        for cut in 0..b.len() {
            let err = Gguf::parse(&b[..cut]).expect_err("truncated file must fail");
            assert!(
                matches!(err, LlmError::Gguf(_)),
                "cut at {cut}: unexpected error {err}"
            );
        }
    }

    #[test]
    fn corrupt_counts_and_magic_are_rejected() {
        let mut b = tiny_gguf();
        b[0] = b'X';
        assert!(Gguf::parse(&b)
            .unwrap_err()
            .to_string()
            .contains("not a GGUF"));
        let mut b = tiny_gguf();
        b[16..24].copy_from_slice(&u64::MAX.to_le_bytes()); // kv count
        assert!(Gguf::parse(&b)
            .unwrap_err()
            .to_string()
            .contains("implausible"));
        // Array length larger than the file.
        let mut b = tiny_gguf();
        let key = b.windows(6).position(|w| w == b"scores").expect("key");
        let pos = key + 6 + 4 + 4;
        assert_eq!(b[pos..pos + 8], 2u64.to_le_bytes());
        b[pos..pos + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(Gguf::parse(&b).is_err());
    }
}
