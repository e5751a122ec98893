//! `kasse-server check-config`: what a configuration sets up, or every problem it has.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_server::Config;
use kasse_server::config::{ConfigProblem, Provider};

use super::ConfigArgs;
use super::output::write_problems;

/// `kasse-server check-config`.
pub(super) fn check_config(args: &ConfigArgs) -> ExitCode {
    let loaded = args.load(&[]);
    match report(&args.origin(), &loaded, &mut io::stdout().lock()) {
        Ok(()) if loaded.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("kasse-server: cannot write the report: {e}");
            ExitCode::FAILURE
        }
    }
}

/// check-config's report: what the configuration sets up when it is sound (with where each
/// secret comes from, never its value), else every problem, numbered.
fn report(origin: &str, loaded: &Result<Config, Vec<ConfigProblem>>, out: &mut dyn Write) -> io::Result<()> {
    let config = match loaded {
        Ok(config) => config,
        Err(problems) => return write_problems(origin, problems, out),
    };
    writeln!(out, "configuration OK: {}", config.summary())?;
    writeln!(out, "  from {origin}")?;
    for store in &config.stores {
        let credentials = match (&config.provider, &store.credentials, &store.secrets_from) {
            (Provider::Sim { .. }, _, _) => "credentials made by the simulator".to_owned(),
            (_, Some(credentials), Some(from)) => format!(
                "client_id {}, client_secret from {}, subscription_key from {}",
                credentials.client_id, from.client_secret, from.subscription_key
            ),
            _ => "no credentials".to_owned(),
        };
        writeln!(out, "  store {}: MSN {}, {}, {credentials}", store.id, store.msn, store.currency)?;
    }
    for till in &config.tills {
        let mut details = vec![format!("capture {}", till.capture.name())];
        details.extend(till.callback_qr.as_ref().map(|id| format!("callback QR {id}")));
        details.extend(till.redirect_sticker.as_ref().map(|id| format!("redirect sticker {id}")));
        writeln!(out, "  till {} ({}) at {}: {}", till.id, till.name, till.store, details.join(", "))?;
    }
    for sticker in &config.stickers {
        writeln!(
            out,
            "  sticker {} at {}: {:?}, {} to {} minor units",
            sticker.id, sticker.store, sticker.description, sticker.min, sticker.max
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;

    fn report_of(loaded: &Result<Config, Vec<ConfigProblem>>) -> String {
        let mut out = Vec::new();
        report("kasse.toml", loaded, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn check_config_summarises_a_sound_configuration() {
        let report = report_of(&Config::load(None, &|_| None));
        assert!(
            report.starts_with(
                "configuration OK: 1 store, 1 till, 1 sticker, provider sim (built into the server)\n"
            ),
            "{report}"
        );
        assert!(
            report.contains("store grunerlokka: MSN 123456, NOK, credentials made by the simulator"),
            "{report}"
        );
        assert!(report.contains("till till-1 (Kasse 1) at grunerlokka: capture automatic"), "{report}");
    }

    #[test]
    fn check_config_says_where_secrets_come_from_never_what_they_are() {
        let text = r#"
            [server]
            public_url = "https://kasse.example.no/"
            [platform]
            provider = "test"
            [[stores]]
            id = "majorstuen"
            name = "Kaffebrenneriet Majorstuen"
            msn = "654321"
            currency = "NOK"
            client_id = "the-client-id"
            [[tills]]
            id = "till-1"
            name = "Kasse 1"
            store = "majorstuen"
        "#;
        let env: HashMap<&str, &str> = HashMap::from([
            ("KASSE_STORE_MAJORSTUEN_CLIENT_SECRET", "very-secret"),
            ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "also-secret"),
        ]);
        let loaded =
            Config::from_toml(text, Path::new("kasse.toml"), &|name| env.get(name).map(|v| (*v).to_owned()));
        let report = report_of(&loaded);
        assert!(
            report.contains(
                "store majorstuen: MSN 654321, NOK, client_id the-client-id, client_secret from the \
                 environment variable KASSE_STORE_MAJORSTUEN_CLIENT_SECRET, subscription_key from the \
                 environment variable KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY"
            ),
            "{report}"
        );
        assert!(!report.contains("very-secret") && !report.contains("also-secret"), "{report}");
    }

    #[test]
    fn check_config_numbers_every_problem() {
        let text = "[[stores]]\nid = \"x\"\nname = \"X\"\nmsn = \"1\"\ncurrency = \"NOK\"\n";
        let report = report_of(&Config::from_toml(text, Path::new("kasse.toml"), &|_| None));
        assert_eq!(
            report,
            "kasse.toml has 2 problems:\n  \
             1. [[stores]] \"x\": msn = \"1\" is not a merchant serial number, which is 4 to 6 digits (see \
             the sales unit in the merchant portal)\n  \
             2. there are no [[tills]]; add at least one\n"
        );
    }
}
