//! Browser journeys: the real web app in headless Chromium, driven through chromedriver, against a
//! real kasse server with the platform simulator inside it, each on free ports.
//!
//! The app must be built first (`dist/`); `cargo xtask test` builds it, installs Chromium and
//! runs these with `--ignored`. A failing journey saves a screenshot under
//! `target/e2e-screenshots/`. With `KASSE_SCREENSHOTS=<folder>` the journeys also save the
//! screenshots the README shows.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure should stop the test loudly"
)]

use std::error::Error;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use kasse_server::{Config, Running};

// Journeys by area, one test binary.
#[path = "browser/access.rs"]
mod access;
#[path = "browser/admin.rs"]
mod admin;
#[path = "browser/display.rs"]
mod display;
#[path = "browser/flows.rs"]
mod flows;
#[path = "browser/landing.rs"]
mod landing;
#[path = "browser/loyalty.rs"]
mod loyalty;
#[path = "browser/money.rs"]
mod money;
#[path = "browser/pos.rs"]
mod pos;
#[path = "browser/stickers.rs"]
mod stickers;

#[path = "browser/wide.rs"]
mod wide;

type Outcome = Result<(), Box<dyn Error>>;

/// A Chrome DevTools Protocol command, sent through chromedriver's bridge to the current
/// window's page (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    command: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The demo store's sales unit.
const MSN: &str = "123456";
/// How long any one thing may take before the journey counts as failed.
const PATIENCE: Duration = Duration::from_secs(30);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A server with its simulator, a chromedriver, and a browser session.
struct Journey {
    name: &'static str,
    server: Running,
    browser: Client,
    driver: Child,
    scratch: PathBuf,
}

impl Journey {
    async fn start(name: &'static str) -> Self {
        Self::start_with(name, |_| {}).await
    }

    /// A journey on a demo configuration changed by `configure` (e.g. a till that captures by
    /// hand).
    async fn start_with(name: &'static str, configure: impl FnOnce(&mut Config)) -> Self {
        let dist = std::env::var_os("KASSE_DIST").map_or_else(|| workspace().join("dist"), PathBuf::from);
        assert!(
            dist.join("index.html").exists(),
            "the web app is not built in {}: run `cargo xtask test`",
            dist.display()
        );
        let scratch = workspace().join("target").join("e2e").join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).unwrap();
        let mut config = Config::demo("127.0.0.1:0".parse().unwrap(), dist, &scratch);
        configure(&mut config);
        let server = kasse_server::start(config).await.expect("the server starts");

        let (driver, port) = start_chromedriver();
        let browser = connect(port, &scratch).await;
        let journey = Self { name, server, browser, driver, scratch };
        journey.pair().await;
        journey
    }

    /// Pairs the browser with the demo till, as a cashier would: the manager's code typed on the
    /// pairing page.
    async fn pair(&self) {
        let code = self.server.pairing_code("till-1", kasse_api::Role::Till).await.expect("a pairing code");
        self.browser.goto(&self.url("till")).await.expect("the till page opens");
        // An unpaired browser is sent to the pairing page.
        let input = self.wait_for("#pairing-code").await.expect("the pairing page shows");
        input.send_keys(&code).await.expect("the code is typed");
        self.browser
            .find(Locator::Css("#pair"))
            .await
            .expect("a pair button")
            .click()
            .await
            .expect("pressed");
        self.wait_for("#show-qr").await.expect("the paired browser is the till");
    }

    fn url(&self, path: &str) -> String {
        self.server.url().join(path).unwrap().to_string()
    }

    /// Runs `steps`; on failure saves a screenshot, then fails the test with the error.
    async fn run(self, steps: impl AsyncFnOnce(&Self) -> Outcome) {
        let outcome = steps(&self).await;
        if let Err(e) = &outcome {
            let shots = workspace().join("target").join("e2e-screenshots");
            let _ = std::fs::create_dir_all(&shots);
            let path = shots.join(format!("{}.png", self.name));
            if let Ok(png) = self.browser.screenshot().await {
                let _ = std::fs::write(&path, png);
            }
            eprintln!("journey '{}' failed: {e}\nscreenshot: {}", self.name, path.display());
        }
        self.finish().await;
        outcome.unwrap();
    }

    async fn finish(mut self) {
        let _ = self.browser.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        self.server.stop().await;
        let _ = std::fs::remove_dir_all(&self.scratch);
    }

    /// Waits for an element matching `css`.
    async fn wait_for(&self, css: &str) -> Result<fantoccini::elements::Element, Box<dyn Error>> {
        display::wait_in(&self.browser, css).await
    }

    /// Sends a DevTools command to the current window's page.
    async fn cdp(
        &self,
        command: &'static str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, Box<dyn Error>> {
        Ok(self.browser.issue_cmd(Cdp { command, params }).await?)
    }

    /// Makes the current window's page a screen of `width` × `height` CSS pixels: a phone's
    /// (`mobile`), or a desktop PoS monitor's.
    async fn screen(&self, width: u32, height: u32, mobile: bool) -> Outcome {
        let metrics =
            serde_json::json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile });
        self.cdp("Emulation.setDeviceMetricsOverride", metrics).await?;
        Ok(())
    }

    /// Saves a README screenshot of the journey's browser when `KASSE_SCREENSHOTS` names a folder.
    async fn keep_screenshot(&self, file: &str) -> Outcome {
        keep_screenshot_of(&self.browser, file).await
    }

    /// Opens the till and types `keys` on its keypad.
    async fn type_amount(&self, keys: &[&str]) -> Outcome {
        self.browser.goto(&self.url("till")).await?;
        self.wait_for("#show-qr").await?;
        for key in keys {
            self.browser.find(Locator::Css(&format!("button[data-key='{key}']"))).await?.click().await?;
        }
        Ok(())
    }

    /// Presses "Show QR" and reads the QR code off the screen the way a phone camera would:
    /// from pixels. Returns the sale's reference and what the code says.
    async fn show_qr(&self) -> Result<(String, String), Box<dyn Error>> {
        self.browser.find(Locator::Css("#show-qr")).await?.click().await?;
        let code = self.wait_for(".sale[data-status='awaitingCustomer'] svg.qr").await?;
        let text = scan(&code.screenshot().await?)?;
        let reference = self.browser.find(Locator::Css(".reference code")).await?.text().await?;
        Ok((reference, text))
    }

    /// The customer scans the till's QR code with their phone and answers on it.
    async fn customer_answers(&self, qr_text: &str, answer: &str) -> Outcome {
        let till = self.browser.window().await?;
        let phone = self.browser.new_window(true).await?;
        self.browser.switch_to_window(phone.handle).await?;
        self.browser.goto(qr_text).await?;
        self.wait_for(&format!("button.{answer}")).await?.click().await?;
        self.wait_for(".outcome").await?;
        self.browser.close_window().await?;
        self.browser.switch_to_window(till).await?;
        Ok(())
    }

    async fn headline(&self) -> Result<String, Box<dyn Error>> {
        Ok(self.browser.find(Locator::Css(".sale .headline")).await?.text().await?)
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

fn start_chromedriver() -> (Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let binary = std::env::var("KASSE_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
    let child = Command::new(&binary)
        .arg(format!("--port={port}"))
        // The browser stands in the shop, in Oslo: its "today" is the store's, even in the hour
        // after Oslo's midnight while UTC's day goes on (the end of day asks for the browser's
        // date, and a UTC browser then asked for the day before the sales).
        .env("TZ", "Europe/Oslo")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary} ({e}): `cargo xtask test` installs it"));
    (child, port)
}

async fn connect(port: u16, scratch: &Path) -> Client {
    let chromium = std::env::var("KASSE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let camera = scratch.join("camera.y4m");
    std::fs::write(&camera, camera_picture(CAMERA_SEES)).unwrap();
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            // The machine has no network beyond loopback: background services only make noise.
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=480,1000", "--hide-scrollbars",
                // The camera is a fake one, always granted, filming a customer's QR code.
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                format!("--use-file-for-fake-video-capture={}", camera.display()),
                format!("--user-data-dir={}", scratch.join("chromium").display()),
            ]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
    let url = format!("http://127.0.0.1:{port}");
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(capabilities);
    // chromedriver takes a moment to listen; there is no event to wait for but its port.
    for _ in 0..100 {
        match builder.connect(&url).await {
            Ok(client) => return client,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not start on port {port}");
}

/// What the fake camera films: Kari's personal QR code, as her app shows it.
const CAMERA_SEES: &str = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";

/// A Y4M video (what Chromium's fake camera plays) of `text`'s QR code, black on white, in the
/// middle of a grey 320 × 240 picture.
fn camera_picture(text: &str) -> Vec<u8> {
    const WIDTH: usize = 320;
    const HEIGHT: usize = 240;
    const SCALE: usize = 4;
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let modules = code.width();
    let colors = code.to_colors();
    let paper = (modules + 8) * SCALE;
    let (left, top) = ((WIDTH - paper) / 2, (HEIGHT - paper) / 2);
    let mut luma = vec![110u8; WIDTH * HEIGHT];
    for y in 0..paper {
        for x in 0..paper {
            let (mx, my) = ((x / SCALE).wrapping_sub(4), (y / SCALE).wrapping_sub(4));
            let dark = mx < modules && my < modules && colors[my * modules + mx] == qrcode::Color::Dark;
            luma[(top + y) * WIDTH + left + x] = if dark { 16 } else { 235 };
        }
    }
    let mut video = format!("YUV4MPEG2 W{WIDTH} H{HEIGHT} F5:1 Ip A1:1 C420jpeg\n").into_bytes();
    // Two identical frames: the fake camera loops the file.
    for _ in 0..2 {
        video.extend_from_slice(b"FRAME\n");
        video.extend_from_slice(&luma);
        // No colour: both chroma planes (a quarter of the picture each) sit at the middle.
        video.extend(std::iter::repeat_n(128u8, WIDTH * HEIGHT / 2));
    }
    video
}

/// Decodes the one QR code in a PNG screenshot.
fn scan(png: &[u8]) -> Result<String, Box<dyn Error>> {
    let image = image::load_from_memory(png)?.to_luma8();
    let (width, height) = (image.width(), image.height());
    let pixels = image.into_raw();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(width as usize, height as usize, |x, y| {
            pixels[y * width as usize + x]
        });
    let grids = prepared.detect_grids();
    let grid = grids.first().ok_or("no QR code found on screen")?;
    Ok(grid.decode()?.1)
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_customer_scans_the_tills_qr_code_approves_and_the_till_shows_paid() {
    Journey::start("qr-paid")
        .await
        .run(async |j| {
            j.type_amount(&["1", "2", "3", "5", "0"]).await?;
            let shown = j.browser.find(Locator::Css("#amount")).await?.text().await?;
            if !shown.contains("123.50") {
                return Err(format!("the till shows {shown:?} after typing 1 2 3 5 0").into());
            }
            j.keep_screenshot("till-sale.png").await?;

            let (reference, qr_text) = j.show_qr().await?;
            let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
            if !qr_text.starts_with(sim.base_url().as_str()) {
                return Err(format!("the QR code points at {qr_text}, not at the platform").into());
            }
            j.keep_screenshot("till-qr.png").await?;

            j.customer_answers(&qr_text, "approve").await?;
            j.wait_for(".sale[data-status='captured']").await?;
            if j.headline().await? != "Paid" {
                return Err(format!("the till says {:?}, not Paid", j.headline().await?).into());
            }
            j.keep_screenshot("till-paid.png").await?;

            let payment = sim.payment(MSN, &reference).ok_or("the platform has the payment")?;
            if payment.aggregate.captured_amount.value != 12_350 {
                return Err(format!("the platform captured {:?}", payment.aggregate).into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_customer_who_declines_in_the_app_is_shown_as_declined() {
    Journey::start("qr-declined")
        .await
        .run(async |j| {
            j.type_amount(&["4", "9", "00"]).await?;
            let (reference, qr_text) = j.show_qr().await?;
            j.customer_answers(&qr_text, "decline").await?;
            j.wait_for(".sale[data-status='declined']").await?;
            if j.headline().await? != "Declined" {
                return Err(format!("the till says {:?}, not Declined", j.headline().await?).into());
            }
            let sim = j.server.sim().ok_or("simulator")?;
            let payment = sim.payment(MSN, &reference).ok_or("the platform has the payment")?;
            if payment.aggregate.captured_amount.value != 0 {
                return Err("a declined payment was captured".into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_cashier_cancels_before_the_customer_approves_and_the_till_shows_cancelled() {
    Journey::start("qr-cancelled")
        .await
        .run(async |j| {
            j.type_amount(&["2", "5", "00"]).await?;
            let (reference, _) = j.show_qr().await?;
            j.browser.find(Locator::Css("#cancel")).await?.click().await?;
            j.wait_for(".sale[data-status='cancelled']").await?;
            if j.headline().await? != "Cancelled" {
                return Err(format!("the till says {:?}, not Cancelled", j.headline().await?).into());
            }
            let sim = j.server.sim().ok_or("simulator")?;
            let payment = sim.payment(MSN, &reference).ok_or("the platform has the payment")?;
            if payment.state != kasse_vipps::epayment::State::Terminated {
                return Err(format!("the platform says {:?}, not TERMINATED", payment.state).into());
            }
            // The next customer can be served.
            j.browser.find(Locator::Css("#next-sale")).await?.click().await?;
            j.wait_for("#show-qr").await?;
            Ok(())
        })
        .await;
}
