//! Key names. Every key is `drainscale:{TAG}:...` with the app's hash tag in braces, so Redis Cluster keeps one
//! app's keys on one shard (a push script touches several of them at once) and apps sharing a Redis never meet.

/// The key names of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(tag: &str) -> Keys {
        Keys {
            prefix: format!("drainscale:{{{tag}}}:"),
        }
    }

    /// `drainscale:{tag}:` (ends with the colon).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hash of one bucket's merged aggregates (bucket start in Unix micros).
    pub fn bucket(&self, start: i64) -> String {
        format!("{}b:{start}", self.prefix)
    }

    /// The HyperLogLog of one `unique#` series in one bucket.
    pub fn unique(&self, start: i64, series: &str) -> String {
        format!("{}u:{start}:{series}", self.prefix)
    }

    /// Who exports one bucket to the outlets (and whether it is done).
    pub fn claim(&self, start: i64) -> String {
        format!("{}claim:{start}", self.prefix)
    }

    /// One `Logplex-Frame-Id`, as a hex digest.
    pub fn frame(&self, digest: &str) -> String {
        format!("{}frame:{digest}", self.prefix)
    }

    /// The scaler leader's lease: `INSTANCE FENCE`.
    pub fn lease(&self) -> String {
        format!("{}lease", self.prefix)
    }

    /// The fencing counter: incremented by every new leader.
    pub fn fence(&self) -> String {
        format!("{}fence", self.prefix)
    }

    /// The newest receive time (Unix micros) any instance pushed.
    pub fn last_ingest(&self) -> String {
        format!("{}last_ingest", self.prefix)
    }

    /// The earliest bucket any instance pushed.
    pub fn first_bucket(&self) -> String {
        format!("{}first_bucket", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_apps_hash_tag() {
        let k = Keys::new("my-app");
        for key in [
            k.bucket(10),
            k.unique(10, "u|users|"),
            k.claim(10),
            k.frame("ab"),
            k.lease(),
            k.fence(),
            k.last_ingest(),
            k.first_bucket(),
        ] {
            assert!(key.starts_with("drainscale:{my-app}:"), "{key}");
        }
    }
}
