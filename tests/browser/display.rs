//! Browser journeys: the customer display beside the till, and the till's screen surviving a
//! reload, a dropped connection, and a proxy refusing its live stream while the server is away.
//!
//! A display is a second device. Two windows of one browser share its cookies, so the second
//! window would turn the till itself into a display when it pairs: the display here is a second
//! browser (its own chromedriver and profile), as in a shop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kasse_api::Role;

use super::*;

/// A second browser beside the journey's, with its own cookies.
pub(super) struct SecondBrowser {
    pub(super) client: Client,
    driver: Child,
}

impl SecondBrowser {
    /// Opens one, its profile under the journey's scratch folder as `name`.
    pub(super) async fn open(j: &Journey, name: &str) -> Self {
        let scratch = j.scratch.join(name);
        std::fs::create_dir_all(&scratch).expect("a folder for the second browser");
        let (driver, port) = start_chromedriver();
        let client = connect(port, &scratch).await;
        Self { client, driver }
    }

    /// Closes the browser and its driver.
    pub(super) async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Waits for an element matching `css` in `browser`.
pub(super) async fn wait_in(
    browser: &Client,
    css: &str,
) -> Result<fantoccini::elements::Element, Box<dyn Error>> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match browser.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(element) => return Ok(element),
            // A page that navigates meanwhile (the pairing page going on to its device's page)
            // aborts the look in progress: look again, on the page it went to.
            Err(e)
                if e.to_string().contains("aborted by navigation")
                    && std::time::Instant::now() < deadline => {}
            Err(e) => return Err(format!("waiting for `{css}`: {e}").into()),
        }
    }
}

/// Waits until the text of the element matching `css` in `browser` contains `expected`
/// (no-break spaces read as spaces).
pub(super) async fn wait_for_text(browser: &Client, css: &str, expected: &str) -> Outcome {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = String::from("nothing");
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            seen = text.replace('\u{a0}', " ");
            if seen.contains(expected) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("`{css}` says {seen:?}, not {expected:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves a README screenshot of `browser` when `KASSE_SCREENSHOTS` names a folder.
async fn keep_screenshot_of(browser: &Client, file: &str) -> Outcome {
    if let Some(folder) = std::env::var_os("KASSE_SCREENSHOTS") {
        std::fs::create_dir_all(&folder)?;
        std::fs::write(Path::new(&folder).join(file), browser.screenshot().await?)?;
    }
    Ok(())
}

/// Pairs `browser` as till-1's customer display, the way a manager would: the code typed on the
/// pairing page the display is sent to.
async fn pair_display(j: &Journey, browser: &Client) -> Outcome {
    let code = j.server.pairing_code("till-1", Role::Display).await?;
    browser.goto(&j.url("display/till-1")).await?;
    // Not paired yet: sent to the pairing page.
    wait_in(browser, "#pairing-code").await?.send_keys(&code).await?;
    browser.find(Locator::Css("#pair")).await?.click().await?;
    wait_in(browser, ".display[data-screen='idle']").await?;
    let path = browser.current_url().await?.path().to_owned();
    if path != "/display/till-1" {
        return Err(format!("the paired display is at {path}").into());
    }
    Ok(())
}

/// A cable between the browser and the server that the journey can pull out: a TCP proxy in
/// front of the server. Pulled, it drops every connection through it (the live stream too) and
/// refuses new ones; put back, it carries them again. It can also stand for a reverse proxy whose
/// server is away: every connection through it dropped, and each new request answered 502.
///
/// Chromium's offline emulation (DevTools `Network.emulateNetworkConditions`, as chromedriver's
/// network conditions use it) stops new requests but leaves an open event stream flowing, so it
/// cannot show what a dropped connection does.
struct Cable {
    url: String,
    plug: tokio::sync::watch::Sender<Plug>,
    /// Event streams answered 502 so far.
    streams_refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// How the cable stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plug {
    /// It carries every connection.
    In,
    /// It carries none: a connection is dropped at once.
    Out,
    /// It answers every request with a proxy's 502 Bad Gateway.
    BadGateway,
}

impl Cable {
    /// Lays a cable to `server`, on a port of its own.
    async fn lay(server: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the cable");
        let url = format!("http://{}/", listener.local_addr().expect("its address"));
        let (plug, _) = tokio::sync::watch::channel(Plug::In);
        let watch = plug.clone();
        let streams_refused = Arc::new(AtomicUsize::new(0));
        let refused = Arc::clone(&streams_refused);
        let task = tokio::spawn(async move {
            while let Ok((browser, _)) = listener.accept().await {
                let now = *watch.borrow();
                match now {
                    Plug::Out => continue, // dropped at once: the connection fails
                    Plug::BadGateway => {
                        tokio::spawn(bad_gateway(browser, Arc::clone(&refused)));
                        continue;
                    }
                    Plug::In => {}
                }
                let mut plug = watch.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(server).await else { return };
                    let (from_browser, to_browser) = browser.into_split();
                    let (from_server, to_server) = server.into_split();
                    tokio::select! {
                        _ = carry(&from_browser, &to_server) => {}
                        _ = carry(&from_server, &to_browser) => {}
                        _ = plug.wait_for(|plug| *plug != Plug::In) => {}
                    }
                });
            }
        });
        Self { url, plug, streams_refused, task }
    }

    /// Pulls the cable out.
    fn pull(&self) {
        self.plug.send_replace(Plug::Out);
    }

    /// Stands for a proxy whose server is away: drops every connection, answers 502 from now on.
    fn answer_bad_gateway(&self) {
        self.plug.send_replace(Plug::BadGateway);
    }

    /// Puts it back.
    fn put_back(&self) {
        self.plug.send_replace(Plug::In);
    }

    /// Waits until `count` event streams in all were answered 502.
    async fn until_streams_refused(&self, count: usize) -> Outcome {
        let deadline = Instant::now() + PATIENCE;
        while self.streams_refused.load(Ordering::SeqCst) < count {
            if Instant::now() > deadline {
                let refused = self.streams_refused.load(Ordering::SeqCst);
                return Err(format!("{refused} event streams were answered 502, not {count}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers the request on `browser` as a reverse proxy does when its server is away: 502 Bad
/// Gateway, then the connection closes. Counts it in `streams_refused` if it asked for an event
/// stream.
async fn bad_gateway(mut browser: tokio::net::TcpStream, streams_refused: Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match browser.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let request_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    if String::from_utf8_lossy(request_line).contains("/events") {
        streams_refused.fetch_add(1, Ordering::SeqCst);
    }
    let answer = "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 12\r\nconnection: close\r\n\r\n<h1>502</h1>";
    let _ = browser.write_all(answer.as_bytes()).await;
    let _ = browser.shutdown().await;
}

/// Copies bytes one way until either side closes.
async fn carry(
    from: &tokio::net::tcp::OwnedReadHalf,
    to: &tokio::net::tcp::OwnedWriteHalf,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        from.readable().await?;
        let read = match from.try_read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        let mut written = 0;
        while written < read {
            to.writable().await?;
            match to.try_write(&buffer[written..read]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_qr_code_shows_on_a_customer_display_paired_in_a_second_window() {
    Journey::start("display-qr")
        .await
        .run(async |j| {
            let display = SecondBrowser::open(j, "display").await;
            let outcome = async {
                let screen = &display.client;
                pair_display(j, screen).await?;
                let welcome = screen.find(Locator::Css(".display-store")).await?.text().await?;
                if welcome != "Kaffebrenneriet Grünerløkka" {
                    return Err(format!("the idle display greets from {welcome:?}").into());
                }

                j.type_amount(&["1", "0", "0", "00"]).await?;
                let (reference, till_text) = j.show_qr().await?;

                let code = wait_in(screen, ".display[data-screen='pay'] svg.qr").await?;
                let display_text = scan(&code.screenshot().await?)?;
                if display_text != till_text {
                    return Err(
                        format!("the display's QR says {display_text}, the till's {till_text}").into()
                    );
                }
                wait_for_text(screen, "#display-amount", "100.00").await?;
                wait_for_text(screen, ".display-prompt", "Scan with the Vipps or MobilePay app").await?;
                keep_screenshot_of(screen, "display-qr.png").await?;

                j.customer_answers(&till_text, "approve").await?;
                wait_in(screen, "#display-result[data-status='captured']").await?;
                wait_for_text(screen, "#display-result", "Paid").await?;
                let live = screen.find(Locator::Css("[aria-live] #display-result")).await;
                if live.is_err() {
                    return Err("the outcome is not in a live region".into());
                }
                keep_screenshot_of(screen, "display-paid.png").await?;

                // The display only watches: the server refuses it any action.
                let refused = screen
                    .execute_async(
                        "fetch(arguments[0], {method: 'POST'}).then(r => arguments[1](r.status))",
                        vec![serde_json::json!(format!("/api/tills/till-1/sales/{reference}/reconcile"))],
                    )
                    .await?;
                if refused != serde_json::json!(403) {
                    return Err(format!("a display's action was answered {refused}").into());
                }
                Ok(())
            }
            .await;
            display.close().await;
            outcome
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn after_part_of_a_payment_is_taken_the_till_and_the_display_say_what_was_taken_of_the_amount() {
    Journey::start_with("display-partial", |c| c.tills[0].capture = kasse_server::CapturePolicy::Manual)
        .await
        .run(async |j| {
            let display = SecondBrowser::open(j, "display").await;
            let outcome = async {
                let screen = &display.client;
                pair_display(j, screen).await?;
                j.type_amount(&["1", "0", "0", "00"]).await?;
                let (reference, qr_text) = j.show_qr().await?;
                j.customer_answers(&qr_text, "approve").await?;
                j.wait_for(".sale[data-status='authorized']").await?;
                wait_in(screen, "#display-result[data-status='authorized']").await?;

                // 40.00 of the 100.00 approved is taken, from the sale's page.
                j.browser.goto(&j.url(&format!("till/sales/{reference}"))).await?;
                j.wait_for("#capture-part").await?.send_keys("40").await?;
                j.browser.find(Locator::Css("#capture-part-submit")).await?.click().await?;
                wait_for_text(&j.browser, "[data-amount='captured'] dd", "40.00").await?;

                j.browser.goto(&j.url("till")).await?;
                j.wait_for(".sale[data-status='captured']").await?;
                wait_for_text(&j.browser, ".sale .sale-amount", "NOK 40.00 of NOK 100.00").await?;
                wait_in(screen, "#display-result[data-status='captured']").await?;
                wait_for_text(screen, "#display-amount", "NOK 40.00 of NOK 100.00").await?;
                Ok(())
            }
            .await;
            display.close().await;
            outcome
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_till_set_to_show_its_qr_on_the_display_shows_it_only_there() {
    Journey::start("qr-on-display-only")
        .await
        .run(async |j| {
            let display = SecondBrowser::open(j, "display").await;
            let outcome = async {
                let screen = &display.client;
                pair_display(j, screen).await?;
                j.browser.find(Locator::Css("#qr-on-display")).await?.click().await?;
                j.type_amount(&["3", "2", "00"]).await?;
                j.browser.find(Locator::Css("#show-qr")).await?.click().await?;
                j.wait_for(".sale[data-status='awaitingCustomer'] .qr-elsewhere").await?;
                if j.browser.find(Locator::Css(".sale svg.qr")).await.is_ok() {
                    return Err("the till draws the QR code that belongs on the display".into());
                }
                let code = wait_in(screen, ".display[data-screen='pay'] svg.qr").await?;
                let text = scan(&code.screenshot().await?)?;
                j.customer_answers(&text, "approve").await?;
                j.wait_for(".sale[data-status='captured']").await?;
                // The setting is this device's: it is still on after a reload.
                j.browser.refresh().await?;
                // The reload shows the paid sale again, until it is put away.
                j.wait_for("#next-sale").await?.click().await?;
                let ticked = j.wait_for("#qr-on-display").await?.prop("checked").await?;
                if ticked.as_deref() != Some("true") {
                    return Err(format!("after a reload the setting reads {ticked:?}").into());
                }
                Ok(())
            }
            .await;
            display.close().await;
            outcome
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_reload_in_the_middle_of_a_payment_shows_the_same_payment() {
    Journey::start("reload-mid-payment")
        .await
        .run(async |j| {
            j.type_amount(&["2", "5", "00"]).await?;
            let (reference, qr_text) = j.show_qr().await?;
            j.browser.refresh().await?;
            let code = j.wait_for(".sale[data-status='awaitingCustomer'] svg.qr").await?;
            let again = scan(&code.screenshot().await?)?;
            let reference_again = j.browser.find(Locator::Css(".reference code")).await?.text().await?;
            if (reference_again.as_str(), again.as_str()) != (reference.as_str(), qr_text.as_str()) {
                return Err(format!("after a reload the till shows {reference_again} ({again})").into());
            }
            // The reloaded page is live: the customer's approval shows.
            j.customer_answers(&qr_text, "approve").await?;
            j.wait_for(".sale[data-status='captured']").await?;
            // Put away for the next customer, the paid sale stays away after another reload.
            j.browser.find(Locator::Css("#next-sale")).await?.click().await?;
            j.wait_for("#show-qr").await?;
            j.browser.refresh().await?;
            j.wait_for("#show-qr").await?;
            if j.browser.find(Locator::Css(".sale")).await.is_ok() {
                return Err("the sale put away came back after a reload".into());
            }
            Ok(())
        })
        .await;
}

/// The customer approves the sale `reference` by its QR code `qr_text` on the phone, which reaches
/// the platform on its own, and the platform has it approved.
async fn approved_at_the_platform(j: &Journey, reference: &str, qr_text: &str) -> Outcome {
    j.customer_answers(qr_text, "approve").await?;
    let sim = j.server.sim().ok_or("simulator")?;
    let payment = sim.payment(MSN, reference).ok_or("the platform has the payment")?;
    if payment.state != kasse_vipps::epayment::State::Authorized {
        return Err(format!("the platform says {:?} after the approval", payment.state).into());
    }
    Ok(())
}

/// The till, connected again, shows its sale paid.
async fn shows_paid_online(j: &Journey) -> Outcome {
    j.wait_for(".sale[data-status='captured']").await?;
    j.wait_for(".connection[data-state='online']").await?;
    if j.headline().await? != "Paid" {
        return Err(format!("the till says {:?}, not Paid", j.headline().await?).into());
    }
    Ok(())
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_tills_display_survives_a_dropped_connection() {
    // The browser reaches the server only through the cable (it is the server's public address).
    let server = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let cable = Cable::lay(server).await;
    Journey::start_with("dropped-connection", |c| {
        c.listen = server;
        c.public_url = Some(cable.url.parse().unwrap());
    })
    .await
    .run(async |j| {
        j.type_amount(&["3", "2", "00"]).await?;
        let (reference, qr_text) = j.show_qr().await?;
        j.wait_for(".connection[data-state='online']").await?;

        cable.pull();
        j.wait_for(".connection[data-state='reconnecting']").await?;

        // The customer approves while the till is cut off (the phone reaches the platform on
        // its own); the server learns of it, the till cannot yet.
        approved_at_the_platform(j, &reference, &qr_text).await?;
        if j.browser.find(Locator::Css(".sale[data-status='awaitingCustomer']")).await.is_err() {
            return Err("the cut-off till changed its sale without hearing from the server".into());
        }

        // Back: the stream resumes after the last event it had and the till shows the outcome.
        cable.put_back();
        shows_paid_online(j).await
    })
    .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_till_comes_back_after_a_proxy_answered_its_reconnections_with_502() {
    // The browser reaches the server through the cable, standing for a reverse proxy: while the
    // server is away (restarting), the proxy answers 502, and the browser's EventSource gives up
    // on the stream for good at the first one.
    let server = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let cable = Cable::lay(server).await;
    Journey::start_with("stream-refused", |c| {
        c.listen = server;
        c.public_url = Some(cable.url.parse().unwrap());
    })
    .await
    .run(async |j| {
        j.type_amount(&["4", "7", "00"]).await?;
        let (reference, qr_text) = j.show_qr().await?;
        j.wait_for(".connection[data-state='online']").await?;

        cable.answer_bad_gateway();
        j.wait_for(".connection[data-state='reconnecting']").await?;
        // The browser's own reconnection is refused, and the page's next attempt too.
        cable.until_streams_refused(2).await?;

        // The customer approves meanwhile (the phone reaches the platform on its own).
        approved_at_the_platform(j, &reference, &qr_text).await?;

        // The server is back: the till opens its stream again, hears what it missed, and shows
        // the payment.
        cable.put_back();
        shows_paid_online(j).await
    })
    .await;
}

/// A customer display somewhere else, paired without a browser: its session cookie, with which
/// it follows the till's live stream.
struct FarDisplay {
    cookie: String,
}

impl FarDisplay {
    /// Pairs one with till-1.
    async fn pair(j: &Journey) -> Result<Self, Box<dyn Error>> {
        let code = j.server.pairing_code("till-1", Role::Display).await?;
        let paired = reqwest::Client::new()
            .post(j.url("api/pair"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await?
            .error_for_status()?;
        let cookie = paired
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .ok_or("pairing set no cookie")?
            .to_owned();
        Ok(Self { cookie })
    }

    /// Opens its live stream, waiting (up to [`PATIENCE`]) for the server to have room for it.
    async fn follow(&self, j: &Journey) -> Result<reqwest::Response, Box<dyn Error>> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let answer = reqwest::Client::new()
                .get(j.url("api/tills/till-1/events"))
                .header(reqwest::header::COOKIE, &self.cookie)
                .send()
                .await?;
            if answer.status() == 200 {
                return Ok(answer);
            }
            if Instant::now() > deadline {
                return Err(format!("the display's stream was answered {}", answer.status()).into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The id of till-1's one device as `role`.
async fn device_of(j: &Journey, role: Role) -> Result<String, Box<dyn Error>> {
    let devices = kasse_server::ops::pairing::Devices::of(&j.server.tools()).list().await?;
    let mut ids = devices.into_iter().filter(|d| d.role == role && d.till == "till-1").map(|d| d.id);
    match (ids.next(), ids.next()) {
        (Some(id), None) => Ok(id),
        _ => Err(format!("till-1 has not one {role:?}").into()),
    }
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_till_turned_away_for_too_many_streams_follows_its_sale_once_one_is_free() {
    // One live stream in all: while a display holds it, the server answers the till's stream
    // 503 (too many streams), and the browser's EventSource gives up on it at once.
    Journey::start_with("stream-limit", |c| c.limits.streams_total = 1)
        .await
        .run(async |j| {
            let devices = kasse_server::ops::pairing::Devices::of(&j.server.tools());
            let display = FarDisplay::pair(j).await?;
            // The till holds the one stream now. Its session ends (which ends its stream at once,
            // and sends it to pairing), and the display takes the stream.
            devices.revoke(&device_of(j, Role::Till).await?).await?;
            j.wait_for(".pair .reason").await?;
            let holder = display.follow(j).await?;

            // Paired again, the till is turned away.
            j.pair().await;
            j.wait_for(".connection[data-state='reconnecting']").await?;
            j.type_amount(&["3", "8", "00"]).await?;
            let (reference, qr_text) = j.show_qr().await?;
            j.customer_answers(&qr_text, "approve").await?;
            let sim = j.server.sim().ok_or("simulator")?;
            let payment = sim.payment(MSN, &reference).ok_or("the platform has the payment")?;
            if payment.state != kasse_vipps::epayment::State::Authorized {
                return Err(format!("the platform says {:?} after the approval", payment.state).into());
            }
            if j.browser.find(Locator::Css(".sale[data-status='awaitingCustomer']")).await.is_err() {
                return Err("the turned-away till changed its sale without hearing from the server".into());
            }

            // The display is unpaired, which ends its stream: the till's next attempt gets it,
            // and the till hears what it missed.
            devices.revoke(&device_of(j, Role::Display).await?).await?;
            drop(holder);
            j.wait_for(".sale[data-status='captured']").await?;
            j.wait_for(".connection[data-state='online']").await?;
            Ok(())
        })
        .await;
}
