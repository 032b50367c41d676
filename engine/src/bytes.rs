//! The small binary records kept in the database (traces, output stats, listings): fields
//! in order, counts and lengths as little-endian `u32`. Records come from disk or a server,
//! so reading one never trusts a count beyond the bytes that are there.

/// Appends `n`.
pub fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

/// Appends `bytes` after their length.
pub fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads a record front to back; every read is `None` once the bytes run out.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader(bytes)
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> usize {
        self.0.len()
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }

    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.array()?) as usize)
    }

    /// What [`put_sized`] wrote.
    pub fn sized(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.take(n)
    }

    /// What [`put_sized`] wrote of a string.
    pub fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.sized()?).ok()
    }

    /// Room for `n` items of at least `each` bytes, but never more than the bytes left
    /// could hold: `n` came from disk.
    pub fn capacity(&self, n: usize, each: usize) -> usize {
        n.min(self.0.len() / each.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_put_is_read_back_and_short_input_is_none() {
        let mut out = Vec::new();
        put_u32(&mut out, 7);
        put_sized(&mut out, b"abc");
        out.extend_from_slice(&[9; 4]);
        let mut r = Reader::new(&out);
        assert_eq!(r.u32(), Some(7));
        assert_eq!(r.text(), Some("abc"));
        assert_eq!(r.array::<4>(), Some([9; 4]));
        assert_eq!((r.rest(), r.u32()), (0, None));
        // A length beyond the bytes there.
        let mut r = Reader::new(&[200, 0, 0, 0, 1]);
        assert_eq!(r.sized(), None);
        assert_eq!(Reader::new(&[0; 8]).capacity(1 << 30, 4), 2);
    }
}
