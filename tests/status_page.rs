//! The HTML status page on `/`, over real HTTP from the real binary: every figure on it matches the `/status`
//! document of the same moment, the DRY RUN banner shows in a dry run only, the chart has its lines, and the
//! page asks the same credentials as `/status`.

mod support;

use support::status_page::{assert_matches, Running};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_matches_status_and_shows_the_dry_run_banner() {
    let running = Running::start(true).await;
    let (status, kind, _) = running.get("/").await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    let (page, doc) = running.page_and_status().await;
    assert_eq!(doc["dry_run"], true);
    assert!(page.contains("id=\"dry-run\""), "no DRY RUN banner");
    assert!(page.contains("<strong>DRY RUN</strong>"));
    // The scaler interval is 200 ms: the page reloads at the 5 s floor.
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    assert!(!page.contains("<script"), "the page needs no script");
    assert_matches(&page, &doc["controllers"][0]);
    assert!(running.fake.writes().is_empty(), "a dry run writes nothing");

    let anonymous = reqwest::get(running.app.url("/")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = reqwest::Client::new()
        .get(running.app.url("/"))
        .basic_auth("ops", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dry_run_there_is_no_banner_and_the_last_change_is_shown() {
    let running = Running::start(false).await;
    // ~300 requests a second at 100 per dyno, and the sine wave: the formation leaves 2.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while running.fake.writes().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the formation never changed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (page, doc) = running.page_and_status().await;
    assert_eq!(doc["dry_run"], false);
    assert!(!page.contains("DRY RUN"), "a banner without a dry run");
    let c = &doc["controllers"][0];
    assert!(c["last_change"].is_object(), "{c}");
    assert_matches(&page, c);
    running.stop();
}
