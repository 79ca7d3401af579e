//! Reading recorded logs: logplex bodies, raw syslog lines or `heroku logs` output, gzip or not (detected by
//! its magic bytes), a chunk of whole lines at a time so a day of logs never sits in memory at once.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Bytes handed to the parser at a time (cut after the last newline).
pub const CHUNK_BYTES: usize = 4 << 20;

/// True when `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// `body` as it is, or gunzipped when it is gzip.
pub fn maybe_gunzip(body: &[u8]) -> std::io::Result<Cow<'_, [u8]>> {
    if !is_gzip(body) {
        return Ok(Cow::Borrowed(body));
    }
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(body).read_to_end(&mut plain)?;
    Ok(Cow::Owned(plain))
}

/// Opens a log file, gunzipping on the fly when it is gzip; `read` counts the file's bytes as they are read
/// (before gunzipping), for a progress bar.
pub fn open(path: &Path, read: Arc<AtomicU64>) -> std::io::Result<Box<dyn Read>> {
    let counted = Counted {
        inner: std::fs::File::open(path)?,
        read,
    };
    let mut file = BufReader::new(counted);
    if is_gzip(file.fill_buf()?) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Ok(Box::new(file))
    }
}

/// A reader cut into chunks of whole lines (the last one may lack its newline), each about
/// [`CHUNK_BYTES`] long (longer when a line is).
pub struct LineChunks<R> {
    reader: R,
    buf: Vec<u8>,
    filled: usize,
    /// The length of the chunk handed out last, dropped on the next call.
    handed: usize,
    eof: bool,
}

impl<R: Read> LineChunks<R> {
    pub fn new(reader: R) -> Self {
        LineChunks {
            reader,
            buf: vec![0u8; CHUNK_BYTES],
            filled: 0,
            handed: 0,
            eof: false,
        }
    }

    /// The next chunk, or `None` at the end.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<&[u8]>> {
        if self.handed > 0 {
            self.buf.copy_within(self.handed..self.filled, 0);
            self.filled -= self.handed;
            self.handed = 0;
        }
        loop {
            if self.eof {
                if self.filled == 0 {
                    return Ok(None);
                }
                self.handed = self.filled;
                return Ok(Some(&self.buf[..self.filled]));
            }
            if self.filled == self.buf.len() {
                // A line longer than a chunk: grow rather than cut it.
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.filled += n;
            if n == 0 {
                self.eof = true;
            } else if self.filled >= self.buf.len() / 2 {
                if let Some(last) = memchr::memrchr(b'\n', &self.buf[..self.filled]) {
                    self.handed = last + 1;
                    return Ok(Some(&self.buf[..=last]));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn chunks_end_on_line_ends_and_cover_everything() {
        let text: Vec<u8> = (0..400_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .chain(b"tail".iter().copied())
            .collect();
        let mut seen = Vec::new();
        let mut chunks = LineChunks::new(&text[..]);
        let mut count = 0;
        while let Some(chunk) = chunks.next_chunk().unwrap() {
            assert!(chunk.ends_with(b"\n") || chunk.ends_with(b"tail"));
            seen.extend_from_slice(chunk);
            count += 1;
        }
        assert_eq!(seen, text);
        assert!(count >= 2, "{count}");
    }

    #[test]
    fn gzip_is_detected() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello\n").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(&*maybe_gunzip(&gz).unwrap(), b"hello\n");
        assert_eq!(&*maybe_gunzip(b"plain").unwrap(), b"plain");
    }
}
