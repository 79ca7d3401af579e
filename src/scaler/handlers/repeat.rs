//! What makes two error messages "the same" for repeat suppression: the message with the parts that change
//! on every occurrence of one failure (request ids, UUIDs, long hex tokens, timestamps) replaced by `…`.
//! Heroku's and other APIs' 5xx answers carry a fresh request id each time; without this, an outage sends
//! one mail per pass.

/// The message as the repeat-suppression key: variable tokens replaced by `…`, the rest kept as it is.
pub fn fingerprint(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    // The last word seen, lowercased without separators, to spot `request id` / `request_id=` / `Request-Id:`.
    let mut words: [String; 2] = [String::new(), String::new()];
    let mut after_request_id = false;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        if end == 0 {
            // A separator; the char after a `request id` keyword may be `:`, `=`, a space or a quote.
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let raw = &rest[..end];
        rest = &rest[end..];
        // Trailing `.`/`:` belong to the sentence, not to the token.
        let token = raw.trim_end_matches(['.', ':']);
        let tail = &raw[token.len()..];
        if after_request_id || is_variable(token) {
            out.push('…');
            after_request_id = false;
        } else {
            out.push_str(token);
            let word: String = token
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect();
            after_request_id = word.ends_with("requestid")
                || word == "reqid"
                || (word == "id" && words[1] == "request");
            words.swap(0, 1);
            words[1] = word;
        }
        out.push_str(tail);
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '+')
}

/// A token that differs between occurrences of one failure.
fn is_variable(token: &str) -> bool {
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    let hex = token.bytes().filter(u8::is_ascii_hexdigit).count();
    let len = token.len();
    // UUIDs and other dashed hex ids (8-4-4-4-12 or similar): mostly hex, some digits, long.
    let hex_id = len >= 12 && digits > 0 && hex + token.matches('-').count() == len;
    // Timestamps and long numbers: many digits, mostly digits.
    let numeric = digits >= 8 && digits * 2 >= len;
    hex_id || numeric
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn request_ids_uuids_hex_and_timestamps_are_masked() {
        let a = "PATCH /apps/shop/formation/web: gave up after 3 attempts, last: HTTP 503 internal_server_error: \
                 Internal server error. Request ID: 7f2c1e9a-4b3d-4e5f-8a6b-1c2d3e4f5a6b";
        let b = "PATCH /apps/shop/formation/web: gave up after 3 attempts, last: HTTP 503 internal_server_error: \
                 Internal server error. Request ID: 0a1b2c3d-0000-4e5f-8a6b-ffffffffffff";
        assert_eq!(fingerprint(a), fingerprint(b));
        assert!(
            fingerprint(a).contains("Request ID: …"),
            "{}",
            fingerprint(a)
        );

        let c = "upstream said request_id=abcXYZ at 2026-12-03T13:11:40Z trace 9f86d081884c7d65";
        let d = "upstream said request_id=zzzQQQ at 2026-12-03T13:12:05Z trace 1234567890abcdef";
        assert_eq!(fingerprint(c), fingerprint(d));
        assert_eq!(fingerprint(c), "upstream said request_id=… at … trace …");
        assert_eq!(
            fingerprint("X-Request-Id: r-1 failed"),
            fingerprint("X-Request-Id: r-2 failed")
        );
    }

    #[test]
    fn what_tells_failures_apart_is_kept() {
        let a = fingerprint(
            "PATCH /apps/shop/formation/web: HTTP 422 invalid_params: quantity 12 too high",
        );
        let b = fingerprint("PATCH /apps/shop/formation/web: HTTP 503 unavailable: try later");
        let c = fingerprint(
            "PATCH /apps/shop/formation/worker: HTTP 422 invalid_params: quantity 12 too high",
        );
        let d = fingerprint(
            "PATCH /apps/shop/formation/web: HTTP 422 invalid_params: quantity 13 too high",
        );
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(
            fingerprint(
                "GET /apps/shop/addons/papertrail: HTTP 404 not_found: Couldn't find that add-on."
            ),
            "GET /apps/shop/addons/papertrail: HTTP 404 not_found: Couldn't find that add-on."
        );
        // Words like `deadbeef` and short hex-looking names stay.
        assert_eq!(fingerprint("app cafe 1a2b"), "app cafe 1a2b");
    }
}
