//! Sends the scaler's per-pass stats (Dynosaur's names) through the outlets' statsd and Librato senders.

use drainscale::outlet::{StatGauge, StatsSender};
use drainscale::scaler::controller::PassReport;
use drainscale::scaler::report::{stat_lines, StatsReporter};

/// A [`StatsReporter`] over the outlets' [`StatsSender`].
pub struct OutletStats {
    sender: StatsSender,
    prefix: String,
    app: String,
}

impl OutletStats {
    pub fn new(sender: StatsSender, prefix: &str, app: &str) -> Self {
        OutletStats {
            sender,
            prefix: prefix.to_string(),
            app: app.to_string(),
        }
    }
}

impl StatsReporter for OutletStats {
    fn report(&self, pass: &PassReport) {
        let gauges: Vec<StatGauge> = stat_lines(&self.prefix, &self.app, pass)
            .into_iter()
            .map(|(name, value)| StatGauge::new(name, value))
            .collect();
        self.sender.gauges(&gauges);
    }
}
