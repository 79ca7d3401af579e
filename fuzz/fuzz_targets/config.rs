//! Fuzz target: loading a config from text (environment interpolation, layout detection, YAML, validation) on
//! any bytes, with a fixed fake environment. Loading must answer a config or an error, never panic, and
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

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok((out, _warnings)) = interpolate(&text, &env) {
        assert_eq!(
            out.matches('\n').count(),
            text.matches('\n').count(),
            "interpolation changed the number of lines"
        );
    }
    let _ = load_str(&text, "fuzz.yml", &env);
});
