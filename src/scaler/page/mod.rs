//! The HTML status page served on the drain's `/`: plain HTML and inline SVG rendered by the binary, no
//! script. [`html`] lays out the page from the `/status` document, [`chart`] draws each controller's last hour
//! from its [`crate::scaler::history::Track`], [`text`] escapes and formats.

pub mod chart;
pub mod html;
pub mod text;

pub use html::page;

/// The page's reload period: the scaler interval, kept between 5 s and 60 s.
pub fn refresh_seconds(interval: std::time::Duration) -> u64 {
    interval.as_secs().clamp(5, 60)
}
