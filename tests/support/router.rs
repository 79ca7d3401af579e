//! Router lines as logplex bodies, stamped now, for the tests that run traffic through the real binary.

/// A logplex body of `n` router lines stamped now (`service=12ms`, status 200, app `shop`).
pub fn router_body(n: usize) -> String {
    let ts = jiff::Timestamp::now().to_string();
    let mut body = String::new();
    for i in 0..n {
        let frame = format!(
            "<158>1 {ts} host heroku router - at=info method=GET path=\"/p/{i}\" host=shop.herokuapp.com request_id=r{i} fwd=\"10.0.0.1\" dyno=web.1 connect=1ms service=12ms status=200 bytes=512 protocol=https\n"
        );
        body.push_str(&format!("{} {}", frame.len(), frame));
    }
    body
}
