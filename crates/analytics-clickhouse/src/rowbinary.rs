//! ClickHouse's `RowBinary` format, the little of it the store uses: fixed-width integers
//! little-endian, strings and arrays prefixed by their length as an unsigned LEB128.
//!
//! By hand: it is a few lines, and the libraries that have it bring an async client with them.

use crate::ClickHouseError;

/// Bytes of `RowBinary` being written.
#[derive(Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// The length of a string or an array.
    pub(crate) fn len(&mut self, n: usize) {
        let mut n = n as u64;
        loop {
            let low = n.to_le_bytes()[0] & 0x7f;
            n >>= 7;
            if n == 0 {
                self.bytes.push(low);
                return;
            }
            self.bytes.push(low | 0x80);
        }
    }

    pub(crate) fn str(&mut self, v: &str) {
        self.len(v.len());
        self.bytes.extend_from_slice(v.as_bytes());
    }

    /// An array: its length, then each item as `put` writes it.
    pub(crate) fn array<T>(&mut self, items: &[T], mut put: impl FnMut(&mut Writer, &T)) {
        self.len(items.len());
        for item in items {
            put(self, item);
        }
    }
}

/// `RowBinary` being read.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// True when every row has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ClickHouseError> {
        if self.bytes.len() < n {
            return Err(ClickHouseError::Unexpected(
                "an answer ended inside a value".into(),
            ));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ClickHouseError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ClickHouseError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ClickHouseError> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, ClickHouseError> {
        self.array().map(i32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ClickHouseError> {
        self.array().map(u64::from_le_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64, ClickHouseError> {
        self.array().map(i64::from_le_bytes)
    }

    fn len(&mut self) -> Result<usize, ClickHouseError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(n)
                    .map_err(|_| ClickHouseError::Unexpected("a length past memory".into()));
            }
        }
        Err(ClickHouseError::Unexpected(
            "a length of more than 64 bits".into(),
        ))
    }

    pub(crate) fn string(&mut self) -> Result<String, ClickHouseError> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ClickHouseError::Unexpected("a string that is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let long = "x".repeat(300);
        let mut w = Writer::default();
        w.u8(7);
        w.u16(65_000);
        w.i32(-5);
        w.u64(u64::MAX);
        w.i64(-1_793_390_400);
        w.str("gmail.com");
        w.str(&long);
        w.str("");
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u16().unwrap(), 65_000);
        assert_eq!(r.i32().unwrap(), -5);
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert_eq!(r.i64().unwrap(), -1_793_390_400);
        assert_eq!(r.string().unwrap(), "gmail.com");
        assert_eq!(r.string().unwrap(), long);
        assert_eq!(r.string().unwrap(), "");
        assert!(r.is_empty());
        assert!(r.u8().is_err(), "reading past the end is an error");
    }

    #[test]
    fn lengths_are_leb128() {
        for (n, encoded) in [
            (0usize, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x80, 1]),
            (300, vec![0xac, 0x02]),
        ] {
            let mut w = Writer::default();
            w.len(n);
            assert_eq!(w.into_bytes(), encoded, "{n}");
        }
        let mut r = Reader::new(&[0xff; 11]);
        assert!(r.string().is_err());
    }
}
