//! `drainscale simulate`'s other faces: the chart files (valid SVG and PNG), the reference runs, gzip logs,
//! and `--trace` standing in for an input that calls an outside service.

mod support;

use std::ffi::OsStr;
use std::io::{Read, Write};
use support::simulate::{config, read_csv, simulate, simulate_logs, test_day, write_day};

#[test]
fn the_chart_is_valid_svg_and_png_with_the_reference_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut day = test_day();
    day.mean_rps = 0.5;
    let logs = write_day(dir.path(), "day.log", &day);
    let cfg = config(dir.path(), "web.yaml", 1, 30, 5, "{down_cooldown: 5m}");
    let svg = dir.path().join("chart.svg");
    let png = dir.path().join("chart.png");
    let mut outputs = Vec::new();
    for chart in [&svg, &png] {
        let (ok, out, err) = simulate_logs(
            &cfg,
            &logs,
            &[
                OsStr::new("--capacity"),
                OsStr::new("rpm=5"),
                OsStr::new("--dynosaur"),
                OsStr::new("--hpa"),
                OsStr::new("--chart"),
                chart.as_os_str(),
            ],
        );
        assert!(ok, "{out}\n{err}");
        outputs.push(out);
    }
    assert_eq!(outputs[0], outputs[1]);
    for run in ["web.yaml", "dynosaur", "hpa"] {
        assert!(
            outputs[0].lines().any(|l| l.starts_with(run)),
            "{}",
            outputs[0]
        );
    }

    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.trim_start().starts_with("<svg"), "{}", &text[..80]);
    assert!(text.trim_end().ends_with("</svg>"));
    assert_eq!(text.matches("<svg").count(), 1);
    // Each run's count and each estimate is drawn, and the legend names them.
    assert!(text.matches("<polyline").count() >= 5, "few lines drawn");
    for name in [
        "web.yaml dynos",
        "dynosaur dynos",
        "hpa dynos",
        "rpm estimate",
        "dynos needed",
    ] {
        assert!(text.contains(name), "no {name:?} in the legend");
    }
    // The under-provisioned spans: translucent red rectangles.
    assert!(
        text.contains("fill=\"#FF0000\"") && text.contains("opacity=\"0.15\""),
        "no shaded span"
    );

    let bytes = std::fs::read(&png).unwrap();
    let (width, height, pixels) = decode_png(&bytes);
    assert_eq!((width, height), (1400, 800));
    let reds = pixels
        .chunks(3)
        .filter(|p| p[0] > 200 && p[1] < 80 && p[2] < 80)
        .count();
    assert!(
        reds > 500,
        "{reds} red pixels: the config's count line is missing"
    );
    assert!(pixels.chunks(3).any(|p| p == [255, 255, 255]));
}

/// Checks a PNG as a reader would (signature, chunk CRCs, IHDR, the inflated size) and returns its RGB pixels.
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let mut at = 8;
    let (mut width, mut height, mut idat) = (0, 0, Vec::new());
    let mut kinds = Vec::new();
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = &bytes[at + 8..at + 8 + len];
        let crc = u32::from_be_bytes(bytes[at + 8 + len..at + 12 + len].try_into().unwrap());
        let mut check = flate2::Crc::new();
        check.update(kind);
        check.update(data);
        assert_eq!(
            check.sum(),
            crc,
            "bad CRC in {}",
            String::from_utf8_lossy(kind)
        );
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap());
                height = u32::from_be_bytes(data[4..8].try_into().unwrap());
                assert_eq!(&data[8..10], &[8, 2], "8-bit RGB");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        at += 12 + len;
    }
    assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let row = width as usize * 3 + 1;
    assert_eq!(raw.len(), row * height as usize);
    let pixels = raw.chunks(row).flat_map(|r| r[1..].to_vec()).collect();
    (width, height, pixels)
}

#[test]
fn gzip_logs_replay_as_the_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut day = test_day();
    day.mean_rps = 0.3;
    let logs = write_day(dir.path(), "day.log", &day);
    let gz = dir.path().join("day.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(&logs).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let cfg = config(dir.path(), "web.yaml", 1, 30, 3, "{}");
    let (ok, plain, err) = simulate_logs(&cfg, &logs, &[]);
    assert!(ok, "{err}");
    let (ok, zipped, err) = simulate_logs(&cfg, &gz, &[]);
    assert!(ok, "{err}");
    assert_eq!(plain, zipped);
    assert!(plain.contains("replayed 24.00 h"), "{plain}");
}

#[test]
fn a_trace_stands_in_for_an_outside_service() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nr.yaml");
    std::fs::write(
        &cfg,
        "scaler: {app: shop, dry_run: true, interval: 10s, stats: {console: false}}\n\
         controllers:\n\
         - name: web\n  process: web\n  min: 1\n  max: 20\n  policy: {down_cooldown: 0s}\n  inputs:\n\
         \x20 - {name: apm_rpm, type: new_relic, api_key: NRAK-NOT-USED, app_id: 42, per_dyno: 100, \
         interval: 10s, hysteresis_period: 10s}\n",
    )
    .unwrap();
    // Without a trace the replay refuses: it never calls New Relic.
    let logs = dir.path().join("one.log");
    std::fs::write(
        &logs,
        "2024-01-01T00:00:00.000000+00:00 heroku[router]: at=info method=GET path=\"/\" status=200\n",
    )
    .unwrap();
    let (ok, out, err) = simulate_logs(&cfg, &logs, &[]);
    assert!(!ok, "{out}");
    assert!(err.contains("--trace column named \"apm_rpm\""), "{err}");

    // An hour: 250 rpm, then 900 from 20 minutes in, then 120 from 40.
    let trace = dir.path().join("trace.csv");
    std::fs::write(
        &trace,
        "time,apm_rpm\n0,250\n1200,900\n2400,120\n3600,120\n",
    )
    .unwrap();
    let csv = dir.path().join("d.csv");
    let (ok, out, err) = simulate(&[
        cfg.as_os_str(),
        OsStr::new("--trace"),
        trace.as_os_str(),
        OsStr::new("--csv"),
        csv.as_os_str(),
    ]);
    assert!(ok, "{out}\n{err}");
    let rows = read_csv(&csv);
    let count_at = |s: f64| rows.iter().rfind(|r| r.second() <= s).unwrap().num("count");
    assert_eq!(count_at(600.0), 3.0);
    assert_eq!(count_at(1800.0), 9.0);
    assert_eq!(count_at(3000.0), 2.0);
    assert_eq!(rows.last().unwrap().second(), 3600.0);
    assert!(out.contains("replayed 1.00 h"), "{out}");
}
