//! The dry-run backend: decides nothing, writes nothing, logs "would change web from X to Y".
//!
//! It starts from a real count when it has a reader (the Heroku backend, when an API key is configured), or
//! else from an assumed count (the controller's min), and then tracks the count it would have set, so
//! cool-downs and steps behave as they would for real.

use super::{Backend, BackendFuture};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct DryRun {
    reader: Option<Arc<dyn Backend>>,
    assumed: Mutex<HashMap<String, u32>>,
    initial: u32,
}

impl DryRun {
    /// `reader`: where the first count comes from (never written to); `initial`: the count assumed otherwise.
    pub fn new(reader: Option<Arc<dyn Backend>>, initial: u32) -> Self {
        DryRun {
            reader,
            assumed: Mutex::new(HashMap::new()),
            initial,
        }
    }

    fn assumed(&self, process: &str) -> Option<u32> {
        self.assumed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(process)
            .copied()
    }

    fn assume(&self, process: &str, count: u32) {
        self.assumed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(process.to_string(), count);
    }
}

impl Backend for DryRun {
    fn current<'a>(&'a self, process: &'a str) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            if let Some(count) = self.assumed(process) {
                return Ok(count);
            }
            let start = match &self.reader {
                Some(reader) => match reader.current(process).await {
                    Ok(count) => count,
                    Err(e) => {
                        tracing::warn!(process, error = %e, "dry run: cannot read the real count, assuming {}", self.initial);
                        self.initial
                    }
                },
                None => self.initial,
            };
            self.assume(process, start);
            Ok(start)
        })
    }

    fn set<'a>(&'a self, process: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            let from = self.current(process).await?;
            if from != target {
                // The controller logs "DRY RUN: would change web from X to Y" with the reason.
                tracing::debug!(
                    process,
                    from,
                    to = target,
                    "dry run: not writing {process}={target}"
                );
                self.assume(process, target);
            }
            Ok(target)
        })
    }

    fn describe(&self) -> String {
        match &self.reader {
            Some(r) => format!(
                "dry run (reads the start count from {}, never writes)",
                r.describe()
            ),
            None => format!("dry run (assumes {} at start, never writes)", self.initial),
        }
    }

    fn pace(&self) -> Option<std::time::Duration> {
        self.reader.as_ref().and_then(|r| r.pace())
    }

    fn is_dry_run(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tracks_the_count_it_would_set() {
        let d = DryRun::new(None, 2);
        assert_eq!(d.current("web").await, Ok(2));
        assert_eq!(d.set("web", 5).await, Ok(5));
        assert_eq!(d.current("web").await, Ok(5));
        assert_eq!(d.current("worker").await, Ok(2));
    }
}
