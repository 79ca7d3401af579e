//! Property tests: any bytes parse without panicking, well-formed frames and logfmt round-trip, and a damaged
//! octet count (the first one included, whatever junk it is) never costs the other frames of a body.

use drainscale::logplex::corpus::Corpus;
use drainscale::logplex::frame::{Frame, Frames, Framing};
use drainscale::logplex::logfmt::pairs;
use drainscale::logplex::{parse_body, EventKind};
use proptest::prelude::*;

fn counted(frame: &[u8]) -> Vec<u8> {
    let mut out = format!("{} ", frame.len()).into_bytes();
    out.extend_from_slice(frame);
    out
}

/// Splits a corpus body back into its frames (with newlines).
fn corpus_frames(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut corpus = Corpus::new(seed);
    (0..n)
        .map(|_| {
            let mut f = Vec::new();
            corpus.frame(&mut f);
            f
        })
        .collect()
}

fn token() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9._-]{0,15}"
}

/// A logfmt value and how it is written: bare, quoted (spaces, escaped quotes and backslashes) or empty.
fn value() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        "[a-zA-Z0-9./:-]{1,20}".prop_map(|v| (v.clone(), v)),
        "[a-z \"\\\\=é]{0,20}".prop_map(|v| {
            let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
            (v, format!("\"{escaped}\""))
        }),
        Just((String::new(), String::new())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_parse_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut events = parse_body(&body);
        let n = events.by_ref().count() as u64;
        let stats = events.stats();
        prop_assert_eq!(stats.events, n);
        prop_assert!(stats.bad_total() <= stats.frames);
    }

    #[test]
    fn frame_like_bytes_parse_without_panicking(
        parts in proptest::collection::vec(prop_oneof![
            Just(b"<13>1 ".to_vec()), Just(b"2012-07-22T00:06:26Z ".to_vec()), Just(b"12 ".to_vec()),
            Just(b"\n".to_vec()), Just(b"measure#a=".to_vec()), Just(b"\"".to_vec()), Just(b"host app web.1 - ".to_vec()),
            Just(b"heroku router - at=info ".to_vec()), Just(b"Error L10 (x): 5 messages dropped".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
        ], 0..40)
    ) {
        let body = parts.concat();
        let mut events = parse_body(&body);
        for e in events.by_ref() {
            prop_assert!(!e.kind.name().is_empty());
        }
        prop_assert!(events.stats().bad_total() <= events.stats().frames);
    }

    #[test]
    fn octet_counted_frames_round_trip(frames in proptest::collection::vec("<[^\r\n]{0,40}(\n[^\r\n]{1,20}){0,2}", 1..10)) {
        let body: Vec<u8> = frames.iter().flat_map(|f| counted(format!("{f}\n").as_bytes())).collect();
        let got: Vec<Frame<'_>> = Frames::new(&body).collect();
        let want: Vec<Frame<'_>> = frames.iter().map(|f| Frame::good(f.as_bytes())).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn one_bad_count_costs_no_other_frame(seed in 0u64..1000, n in 2usize..12, which in 0usize..12, bad in prop_oneof![
        (0usize..2000).prop_map(|n| n.to_string()), Just("x".to_string()), Just(String::new()), Just("99999999".to_string())
    ]) {
        let frames = corpus_frames(seed, n);
        let which = which % n;
        let mut body = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            if i == which {
                body.extend(format!("{bad} ").into_bytes());
                body.extend_from_slice(f);
            } else {
                body.extend(counted(f));
            }
        }
        // A broken first count is damage like any other: the later frames' counts make it octet-counted.
        prop_assert_eq!(Framing::detect(&body), Framing::OctetCounted);
        let got: Vec<Frame<'_>> = Frames::new(&body).collect();
        prop_assert_eq!(got.len(), n, "{:?}", got);
        for (i, (g, f)) in got.iter().zip(&frames).enumerate() {
            if i != which {
                prop_assert_eq!(*g, Frame::good(&f[..f.len() - 1]), "frame {}", i);
            } else if let Frame::Damaged { salvaged: Some(text), .. } = g {
                prop_assert_eq!(*text, &f[..f.len() - 1]);
            }
        }
    }

    #[test]
    fn logfmt_round_trips(kvs in proptest::collection::vec((token(), value()), 0..8)) {
        let line: Vec<String> = kvs.iter().map(|(k, (_, written))| format!("{k}={written}")).collect();
        let line = line.join(" ");
        let got: Vec<(String, String)> = pairs(&line)
            .map(|p| (p.key.to_string(), p.value.map(|v| v.unescape().into_owned()).unwrap_or_default()))
            .collect();
        let want: Vec<(String, String)> = kvs.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn metrics_round_trip(
        metrics in proptest::collection::vec((0usize..3, token(), -1e12f64..1e12, "[a-zA-Z%]{0,5}"), 1..6),
        source in proptest::option::of(token()),
        micros in 0i64..4_102_444_800_000_000,
        shuttle in any::<bool>(),
    ) {
        let mut msg: Vec<String> = metrics
            .iter()
            .map(|(kind, name, value, unit)| format!("{}#{name}={value}{unit}", ["measure", "count", "sample"][*kind]))
            .collect();
        if let Some(s) = &source {
            msg.insert(msg.len() / 2, format!("source={s}"));
        }
        let ts = jiff::Timestamp::from_microsecond(micros).unwrap();
        let sd = if shuttle { " -" } else { "" };
        let frame = format!("<190>1 {ts} host app web.1 -{sd} {}\n", msg.join(" "));
        let body = counted(frame.as_bytes());
        let mut events = parse_body(&body);
        let got: Vec<_> = events.by_ref().collect();
        prop_assert_eq!(events.stats().bad_total(), 0);
        prop_assert_eq!(got.len(), metrics.len());
        for (e, (kind, name, value, unit)) in got.iter().zip(&metrics) {
            prop_assert_eq!(e.meta.timestamp, micros);
            prop_assert_eq!((e.meta.app, e.meta.procid), ("app", "web.1"));
            let m = match (&e.kind, kind) {
                (EventKind::Measure(m), 0) | (EventKind::Count(m), 1) | (EventKind::Sample(m), 2) => m,
                other => return Err(TestCaseError::fail(format!("wrong kind {other:?}"))),
            };
            prop_assert_eq!(m.name, name.as_str());
            prop_assert_eq!(m.value, *value);
            prop_assert_eq!(m.unit, unit.as_str());
            prop_assert_eq!(m.source, source.as_deref());
        }
    }
}

/// Bytes a damaged first count may be made of: signs, letters, a BOM, NULs, blanks, digits (glued to the first
/// count or not), `<` and `>`, anything.
fn damaged_prefix() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"-".to_vec()),
        Just(b"+".to_vec()),
        Just("\u{feff}".as_bytes().to_vec()),
        Just(b"\0".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"<".to_vec()),
        Just(b">".to_vec()),
        "[0-9]{1,14}".prop_map(String::into_bytes),
        "[a-zA-Z%]{1,5}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    proptest::collection::vec(piece, 1..8)
        .prop_map(|pieces| pieces.concat())
        .prop_filter("a damaged count, not a wrong one", |p| is_damaged_count(p))
}

/// Not blank, not a number (`<digits> ` is a wrong count, which `one_bad_count_costs_no_other_frame` covers; all
/// digits would make one count with the next), and holding no frame start (`<digits> <PRI>`) of its own.
fn is_damaged_count(prefix: &[u8]) -> bool {
    let text: &[u8] = match prefix.iter().position(|b| !b" \t\r\n".contains(b)) {
        Some(at) => &prefix[at..],
        None => return false,
    };
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == text.len() || (digits > 0 && text.get(digits) == Some(&b' ')) {
        return false;
    }
    !(0..prefix.len()).any(|at| holds_frame_start(&prefix[at..]))
}

/// `<digits> <PRI>` at the start of `bytes`.
fn holds_frame_start(bytes: &[u8]) -> bool {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = &bytes[digits..];
    let pri = rest
        .iter()
        .skip(2)
        .take_while(|b| b.is_ascii_digit())
        .count();
    digits > 0
        && rest.starts_with(b" <")
        && (1..=3).contains(&pri)
        && rest.get(2 + pri) == Some(&b'>')
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Junk where the first count should be (before the first frame's text, or before a sound first frame):
    /// detected as octet-counted, the junk counted as damage, and every good frame after it kept, the frames after
    /// the first one good.
    #[test]
    fn damaged_first_count_costs_no_other_frame(
        prefix in damaged_prefix(),
        seed in 0u64..1000,
        n in 1usize..6,
        first_text in any::<bool>(),
    ) {
        let mut frames = corpus_frames(seed, n + 1);
        let first = frames.remove(0);
        let mut body = prefix.clone();
        if first_text {
            body.extend_from_slice(&first);
        }
        for f in &frames {
            body.extend(counted(f));
        }
        let shown = String::from_utf8_lossy(&body).into_owned();
        prop_assert_eq!(Framing::detect(&body), Framing::OctetCounted, "{:?}", shown);
        let got: Vec<Frame<'_>> = Frames::new(&body).collect();
        prop_assert!(matches!(got[0], Frame::Damaged { .. }), "{:?}: {:?}", shown, got);
        let kept: Vec<&[u8]> = got
            .iter()
            .filter_map(|f| match f {
                Frame::Good { text, .. } => Some(*text),
                Frame::Damaged { salvaged, .. } => *salvaged,
            })
            .collect();
        let want: Vec<&[u8]> = frames.iter().map(|f| &f[..f.len() - 1]).collect();
        prop_assert!(kept.ends_with(&want), "{:?}: {:?}", shown, got);
        let after_first: Vec<Frame<'_>> = want[1..].iter().map(|t| Frame::good(t)).collect();
        prop_assert!(got.ends_with(&after_first), "{:?}: {:?}", shown, got);
        let mut events = parse_body(&body);
        for _ in events.by_ref() {}
        prop_assert!(events.stats().bad_total() >= 1);
    }
}

/// Frames whose message is l2met-like without being all metrics: no l2met key at all (a `line` event after the
/// pairs were read), bad values among good ones, a metric-free line with a `#`.
const L2MET_ODDITIES: [&str; 4] = [
    "<13>1 2012-07-22T00:06:26Z host app web.1 - issue#12=x hello\n",
    "<13>1 2012-07-22T00:06:26Z host app web.1 - measure#a=abc count#b measure#c=1ms unique#u=\n",
    "<13>1 2012-07-22T00:06:26Z host app web.1 - # only a hash\n",
    "<13>1 2012-07-22T00:06:26Z host app web.1 - source=x count#a count#b count#c\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The drain takes events a chunk at a time; any chunk size gives the events and counts one at a time gives.
    #[test]
    fn take_into_in_any_chunks_gives_what_the_iterator_gives(
        seed in any::<u64>(),
        picks in proptest::collection::vec(0usize..8, 1..24),
        limit in 1usize..6,
    ) {
        let mut corpus = Corpus::new(seed);
        let mut body = Vec::new();
        for pick in picks {
            match L2MET_ODDITIES.get(pick) {
                Some(frame) => body.extend_from_slice(&counted(frame.as_bytes())),
                None => corpus.frame(&mut body),
            }
        }
        let mut one_at_a_time = parse_body(&body);
        let want: Vec<_> = one_at_a_time.by_ref().collect();
        let mut chunked = parse_body(&body);
        let mut got = Vec::new();
        loop {
            let taken = chunked.take_into(limit, |e| got.push(e));
            prop_assert!(taken <= limit);
            if taken == 0 {
                break;
            }
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(chunked.stats(), one_at_a_time.stats());
    }
}

proptest! {
    #[test]
    fn logfmt_loop_agrees_with_the_nom_grammar(line in "[a-z =\"\\\\é#.]{0,40}") {
        let fast: Vec<_> = pairs(&line).collect();
        let reference: Vec<_> = drainscale::logplex::logfmt::reference::pairs(&line).collect();
        prop_assert_eq!(fast, reference);
    }

    #[test]
    fn logfmt_agrees_on_any_text(line in "\\PC{0,60}") {
        let fast: Vec<_> = pairs(&line).collect();
        let reference: Vec<_> = drainscale::logplex::logfmt::reference::pairs(&line).collect();
        prop_assert_eq!(fast, reference);
    }
}

/// Header-shaped bytes: the pieces of a syslog header, mutated.
fn header_like() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b"<190>".to_vec()),
            Just(b"<1>".to_vec()),
            Just(b"<1234>".to_vec()),
            Just(b"1 ".to_vec()),
            Just(b"12 ".to_vec()),
            Just(b"2012-07-22T00:06:26.123456+00:00 ".to_vec()),
            Just(b"2012-07-22T00:06:26Z".to_vec()),
            Just(b"host ".to_vec()),
            Just(b"app ".to_vec()),
            Just(b"- ".to_vec()),
            Just(b"-".to_vec()),
            Just(b" ".to_vec()),
            Just("é ".as_bytes().to_vec()),
            proptest::collection::vec(any::<u8>(), 0..4),
        ],
        0..12,
    )
    .prop_map(|parts| {
        let mut v = b"<".to_vec();
        v.extend(parts.concat());
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn header_loop_agrees_with_the_nom_grammar(frame in header_like()) {
        let fast = drainscale::logplex::syslog::parse_frame(&frame);
        let reference = drainscale::logplex::syslog_nom::parse_syslog(&frame);
        prop_assert_eq!(fast, reference);
    }

    #[test]
    fn header_loop_agrees_on_corpus_frames(seed in 0u64..10_000, cut in 0usize..120, byte in any::<u8>()) {
        let mut frame = corpus_frames(seed, 1).remove(0);
        let cut = cut.min(frame.len() - 1);
        let fast = drainscale::logplex::syslog::parse_frame(&frame).map(|h| h.message.len());
        prop_assert_eq!(fast, drainscale::logplex::syslog_nom::parse_syslog(&frame).map(|h| h.message.len()));
        frame[cut] = byte;
        let fast = drainscale::logplex::syslog::parse_frame(&frame);
        if frame[0] == b'<' {
            prop_assert_eq!(fast, drainscale::logplex::syslog_nom::parse_syslog(&frame));
        }
    }
}

proptest! {
    #[test]
    fn str_header_path_agrees_with_bytes_path(frame in header_like(), logs_line in any::<bool>()) {
        let frame = if logs_line { frame[1..].to_vec() } else { frame };
        if let Ok(text) = std::str::from_utf8(&frame) {
            let from_str = drainscale::logplex::syslog::parse_frame_str(text, &mut Default::default()).map(|(h, m)| (h, m.to_string()));
            let from_bytes = drainscale::logplex::syslog::parse_frame(&frame)
                .map(|h| (h, String::from_utf8_lossy(h.message).into_owned()));
            prop_assert_eq!(from_str, from_bytes);
        }
    }
}

proptest! {
    #[test]
    fn minute_cache_agrees_with_the_plain_parse(stamps in proptest::collection::vec(
        (0i64..4_102_444_800_000_000, 0i64..180_000_000, any::<bool>()), 1..20)
    ) {
        use drainscale::logplex::timestamp::{parse_rfc3339, MinuteCache};
        let mut cache = MinuteCache::default();
        let mut t = stamps[0].0;
        for (_, step, zulu) in &stamps {
            t += step;
            // Zulu, or the same instant written at -07:00.
            let text = if *zulu {
                jiff::Timestamp::from_microsecond(t).unwrap().to_string()
            } else {
                let local = jiff::Timestamp::from_microsecond(t - 7 * 3_600_000_000).unwrap().to_string();
                format!("{}-07:00", local.trim_end_matches('Z'))
            };
            prop_assert_eq!(cache.parse(text.as_bytes()), parse_rfc3339(text.as_bytes()), "{}", text);
            prop_assert_eq!(parse_rfc3339(text.as_bytes()), Some(t), "{}", text);
        }
    }
}
