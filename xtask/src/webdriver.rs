//! A small WebDriver client: chromedriver started on a free port, one browser session, and the
//! few commands `bench` needs (navigate, run a script, send a Chrome DevTools Protocol command).
//!
//! WebDriver is JSON over plain HTTP on loopback, so std's `TcpStream` and serde_json are
//! enough; a WebDriver crate would bring an async runtime and an HTTP stack to build. Every
//! request is one connection: chromedriver answers with a `Content-Length` and then keeps the
//! connection open (whatever its `Connection: close` says), so the reply is read by its length,
//! never to the end of the stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use serde_json::Value as Json;

/// How long chromedriver may take to listen after it starts.
const STARTUP: Duration = Duration::from_secs(20);

/// The longest any one command may take before the connection is given up. Longer than the
/// session's own timeouts ([`Session::start`]), so chromedriver's error arrives first and says
/// what timed out.
const REPLY_PATIENCE: Duration = Duration::from_mins(3);

/// A running chromedriver, stopped when dropped.
#[derive(Debug)]
pub(crate) struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts `binary` on a free loopback port and waits until it reports itself ready.
    pub(crate) fn start(binary: &str) -> Result<Self> {
        let port = free_port()?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(|| format!("starting {binary}"))?;
        let driver = Self { child, port };
        // There is no event to wait for but the port answering.
        let deadline = Instant::now() + STARTUP;
        loop {
            let ready = driver.request("GET", "/status", None).ok();
            if ready.as_ref().and_then(|status| status.get("ready")) == Some(&Json::Bool(true)) {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!("{binary} did not become ready on port {port}")));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends one WebDriver command and returns its `value`, or chromedriver's error as an
    /// [`Error`].
    fn request(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Json> {
        let describe = || format!("WebDriver {method} {path}");
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).context(describe)?;
        stream.set_read_timeout(Some(REPLY_PATIENCE)).context(describe)?;
        let body = body.map(ToString::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.as_bytes()))
            .context(describe)?;

        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).context(describe)?;
        let mut length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).context(describe)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let length = length.ok_or_else(|| Error::new(format!("{}: a reply without a length", describe())))?;
        let mut reply = vec![0; length];
        reader.read_exact(&mut reply).context(describe)?;
        let reply = serde_json::from_slice::<Json>(&reply).context(describe)?;
        let value = reply.get("value").cloned().unwrap_or(Json::Null);
        // A failed command answers with an `error` code and a `message` in its value.
        if let Some(error) = value.get("error").and_then(Json::as_str) {
            let message = value.get("message").and_then(Json::as_str).unwrap_or_default();
            let first_line = message.lines().next().unwrap_or_default();
            return Err(Error::new(format!("{}: {error}: {first_line}", describe())));
        }
        Ok(value)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // Already gone is as good as stopped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session, closed (with its browser) when dropped.
#[derive(Debug)]
pub(crate) struct Session<'a> {
    driver: &'a Chromedriver,
    id: String,
}

impl<'a> Session<'a> {
    /// Opens headless Chromium (`chromium`, started with `args`) and gives it generous timeouts:
    /// a throttled page may take seconds, and a wait inside a script ends with the script's.
    pub(crate) fn start(driver: &'a Chromedriver, chromium: &str, args: &[String]) -> Result<Self> {
        let options = object([
            ("binary", Json::from(chromium)),
            ("args", Json::from(args.iter().map(|arg| Json::from(arg.as_str())).collect::<Vec<_>>())),
        ]);
        let capabilities =
            object([("capabilities", object([("alwaysMatch", object([("goog:chromeOptions", options)]))]))]);
        let session = driver.request("POST", "/session", Some(&capabilities))?;
        let id = session
            .get("sessionId")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::new(format!("chromedriver started no session: {session}")))?
            .to_owned();
        let session = Self { driver, id };
        let timeouts = object([("script", Json::from(60_000_u32)), ("pageLoad", Json::from(120_000_u32))]);
        session.command("POST", "timeouts", Some(&timeouts))?;
        Ok(session)
    }

    /// Sends a command under this session's path.
    fn command(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Json> {
        self.driver.request(method, &format!("/session/{}/{path}", self.id), body)
    }

    /// Goes to `url` and waits until the page has loaded (its `load` event).
    pub(crate) fn navigate(&self, url: &str) -> Result<()> {
        self.command("POST", "url", Some(&object([("url", Json::from(url))]))).map(drop)
    }

    /// Runs `script` in the page as an asynchronous script: it ends by calling the function
    /// passed as its last argument, after `args`, with what it returns.
    pub(crate) fn execute_async(&self, script: &str, args: Vec<Json>) -> Result<Json> {
        let body = object([("script", Json::from(script)), ("args", Json::from(args))]);
        self.command("POST", "execute/async", Some(&body))
    }

    /// Sends a Chrome DevTools Protocol command to the current window's page, through
    /// chromedriver's bridge.
    pub(crate) fn cdp(&self, command: &str, params: Json) -> Result<Json> {
        let body = object([("cmd", Json::from(command)), ("params", params)]);
        self.command("POST", "goog/cdp/execute", Some(&body)).context(|| format!("DevTools {command}"))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // Ending the session quits Chromium; if chromedriver is already gone, so is Chromium.
        let _ = self.driver.request("DELETE", &format!("/session/{}", self.id), None);
    }
}

/// A loopback port nobody listens on right now. Another program could take it before ours
/// does; on a build machine that is rare enough that failing then is acceptable.
pub(crate) fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context(|| "finding a free port".to_owned())?;
    Ok(listener.local_addr().context(|| "finding a free port".to_owned())?.port())
}

/// Whether something accepts connections on the loopback `port`.
pub(crate) fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(200)).is_ok()
}

/// A JSON object of `members`, in the order given.
pub(crate) fn object<'a>(members: impl IntoIterator<Item = (&'a str, Json)>) -> Json {
    Json::Object(members.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}
