//! The formation-file backend, for apps off Heroku: one `type=count` line per process type (`web=3`), `#`
//! comments and blank lines kept. A missing file or type reads as 0. Writes are atomic (temp file in the same
//! directory, fsync, rename) and serialised within the process.

use super::spec::{BackendConfig, BackendKind, BackendSpec, Describe, Shared};
use super::{Backend, BackendError, BackendFuture};
use std::path::{Path, PathBuf};

/// `backend: {file: PATH}`: a formation file, for apps off Heroku.
pub const KIND: BackendKind = BackendKind {
    name: "file",
    parse: |params| {
        let path: PathBuf = match params {
            Some(serde_yaml_ng::Value::String(p)) if !p.trim().is_empty() => PathBuf::from(p),
            _ => return Err("expected the formation file's path: `backend: {file: PATH}`".into()),
        };
        Ok(BackendConfig::new(FileBackend { path }))
    },
};

/// `backend: {file: PATH}` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBackend {
    /// The formation file (`web=3` lines).
    pub path: PathBuf,
}

impl BackendSpec for FileBackend {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self, _cx: &Describe) -> String {
        format!("formation file {}", self.path.display())
    }

    fn identity(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn build(&self, _shared: &Shared) -> Option<std::sync::Arc<dyn Backend>> {
        Some(std::sync::Arc::new(FormationFile::new(self.path.clone())))
    }
}

pub struct FormationFile {
    path: PathBuf,
    write_lock: tokio::sync::Mutex<()>,
}

impl FormationFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FormationFile {
            path: path.into(),
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, message: impl Into<String>) -> BackendError {
        BackendError::File {
            path: self.path.display().to_string(),
            message: message.into(),
        }
    }

    async fn read_text(&self) -> Result<String, BackendError> {
        match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(self.error(format!("read: {e}"))),
        }
    }

    async fn write_atomically(&self, text: &str) -> Result<(), BackendError> {
        use tokio::io::AsyncWriteExt;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "formation".into());
        let tmp = self
            .path
            .with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| self.error(format!("create {}: {e}", tmp.display())))?;
        file.write_all(text.as_bytes())
            .await
            .map_err(|e| self.error(format!("write {}: {e}", tmp.display())))?;
        file.sync_all()
            .await
            .map_err(|e| self.error(format!("sync {}: {e}", tmp.display())))?;
        drop(file);
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| self.error(format!("rename {}: {e}", tmp.display())))
    }
}

/// The count of `process` in a formation file's text.
pub fn parse_count(text: &str, process: &str) -> Result<Option<u32>, String> {
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, count) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected type=count, got {line:?}", i + 1))?;
        if name.trim() == process {
            let count = count
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("line {}: {:?} is not a count", i + 1, count.trim()))?;
            return Ok(Some(count));
        }
    }
    Ok(None)
}

/// The text with `process` set to `count` (replacing its line, or appending one).
pub fn with_count(text: &str, process: &str, count: u32) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut found = false;
    for line in text.lines() {
        let is_it = line
            .split_once('=')
            .is_some_and(|(n, _)| n.trim() == process)
            && !line.trim().starts_with('#');
        if is_it && !found {
            out.push_str(&format!("{process}={count}\n"));
            found = true;
        } else if !is_it {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !found {
        out.push_str(&format!("{process}={count}\n"));
    }
    out
}

impl Backend for FormationFile {
    fn current<'a>(&'a self, process: &'a str) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            let text = self.read_text().await?;
            Ok(parse_count(&text, process)
                .map_err(|e| self.error(e))?
                .unwrap_or(0))
        })
    }

    fn set<'a>(&'a self, process: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            let _guard = self.write_lock.lock().await;
            let text = self.read_text().await?;
            let now = parse_count(&text, process)
                .map_err(|e| self.error(e))?
                .unwrap_or(0);
            if now != target
                || !text
                    .lines()
                    .any(|l| l.split_once('=').is_some_and(|(n, _)| n.trim() == process))
            {
                self.write_atomically(&with_count(&text, process, target))
                    .await?;
            }
            Ok(target)
        })
    }

    fn describe(&self) -> String {
        format!("formation file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rewrites_keeping_other_lines() {
        let text = "# managed by drainscale\nweb=3\nworker = 2\n";
        assert_eq!(parse_count(text, "web"), Ok(Some(3)));
        assert_eq!(parse_count(text, "worker"), Ok(Some(2)));
        assert_eq!(parse_count(text, "clock"), Ok(None));
        assert_eq!(
            with_count(text, "web", 5),
            "# managed by drainscale\nweb=5\nworker = 2\n"
        );
        assert_eq!(
            with_count(text, "clock", 1),
            "# managed by drainscale\nweb=3\nworker = 2\nclock=1\n"
        );
        assert!(parse_count("web=three\n", "web")
            .unwrap_err()
            .contains("line 1"));
        assert!(parse_count("web\n", "web")
            .unwrap_err()
            .contains("type=count"));
    }

    #[tokio::test]
    async fn writes_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("formation");
        let f = FormationFile::new(&path);
        assert_eq!(f.current("web").await, Ok(0));
        assert_eq!(f.set("web", 4).await, Ok(4));
        assert_eq!(f.set("worker", 2).await, Ok(2));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "web=4\nworker=2\n");
        assert_eq!(f.current("web").await, Ok(4));
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
