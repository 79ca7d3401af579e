//! Fuzz target: loading a config from text (environment interpolation, layout detection, YAML, validation) on
//! any bytes, or on `config.sample.yaml` with any bytes spliced in (so the fuzzer starts from a config that
//! loads and reaches validation), with a fixed fake environment. Loading must answer a config or an error, never panic, and
//! interpolation must keep the text's lines (a value never adds or removes a newline). It does not read files
//! or the process environment.
#![no_main]

use drainscale::config::interpolate::interpolate;
use drainscale::config::load_str;
use libfuzzer_sys::fuzz_target;

/// The fake environment: ordinary values, an empty one, one with a newline, URLs with credentials, YAML syntax.
fn env(name: &str) -> Option<String> {
    let value = match name {
        "PORT" => "5000",
        "APP" => "shop",
        "EMPTY" => "",
        "MULTI" => "a\nb",
        "HEROKU_API_TOKEN" => "01234567-89ab-cdef-0123-456789abcdef",
        "DATABASE_URL" => "postgres://user:p%40ss@db.example.com:5432/app?sslmode=require",
        "API_URL" => "https://:secret@api.example.com/v1?token=abc",
        "YAML" => "{a: [1, 2], b: *x} # &y !!str",
        "QUOTE" => "'\"\\",
        "NUMBER" => "1e400",
        _ => return None,
    };
    Some(value.to_string())
}

/// A config that loads as shipped.
const SAMPLE: &str = include_str!("../../config.sample.yaml");

/// The text to load: the input itself, or (when its first byte is odd) the sample with the rest of the input
/// replacing a span of it chosen by the next four bytes.
fn text(data: &[u8]) -> String {
    match data {
        [mode, a0, a1, l0, l1, rest @ ..] if mode & 1 == 1 => {
            let at = usize::from(u16::from_le_bytes([*a0, *a1])) % (SAMPLE.len() + 1);
            let len = usize::from(u16::from_le_bytes([*l0, *l1])) % 64;
            let (head, tail) = SAMPLE.as_bytes().split_at(at);
            let tail = &tail[len.min(tail.len())..];
            String::from_utf8_lossy(&[head, rest, tail].concat()).into_owned()
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    if let Ok((out, _warnings)) = interpolate(&text, &env) {
        assert_eq!(
            out.matches('\n').count(),
            text.matches('\n').count(),
            "interpolation changed the number of lines"
        );
    }
    let _ = load_str(&text, "fuzz.yml", &env);
});
