//! Reading configuration files, as an operator meets it: each file here is read through
//! [`Config::from_toml`] or [`Config::load`], and the sentences that come back are checked as
//! `kasse-server check-config` would print them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::raw::{EXAMPLE, EXAMPLE_NAME};
use super::{Config, ConfigProblem, Provider, ProviderKind, SecretSource, SecretSources};

/// An environment with just these variables.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> =
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| vars.get(name).cloned()
}

fn read_toml(text: &str, vars: &[(&str, &str)]) -> Result<Config, Vec<ConfigProblem>> {
    Config::from_toml(text, Path::new("kasse.toml"), &env(vars))
}

fn sentences(problems: &[ConfigProblem]) -> String {
    problems.iter().fold(String::new(), |mut listed, problem| {
        let _ = writeln!(listed, "- {problem}");
        listed
    })
}

/// A scratch file that removes itself.
struct TempFile(PathBuf);

impl TempFile {
    fn new(content: &str) -> Self {
        let path = std::env::temp_dir().join(format!("kasse-config-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, content).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A store on the test platform with one till, every secret from the environment.
const TEST_PLATFORM: &str = r#"
    [server]
    public_url = "https://kasse.example.no"

    [platform]
    provider = "test"

    [[stores]]
    id = "majorstuen"
    name = "Kaffebrenneriet Majorstuen"
    msn = "654321"
    currency = "NOK"
    client_id = "fb492b5e-7907-4d83-ba20-c7fb60ca35de"
    client_secret = { env = "MAJORSTUEN_SECRET" }

    [[tills]]
    id = "till-1"
    name = "Kasse 1"
    store = "majorstuen"
"#;

#[test]
fn the_example_file_is_valid_and_is_the_demo() {
    let config = Config::from_toml(EXAMPLE, Path::new(EXAMPLE_NAME), &env(&[])).unwrap();
    let demo = Config::demo(SocketAddr::from(([127, 0, 0, 1], 8080)), "dist".into(), Path::new("data"));
    assert_eq!(format!("{config:?}"), format!("{demo:?}"));
}

#[test]
fn without_a_file_the_server_runs_the_demo() {
    let config = Config::load(None, &env(&[])).unwrap();
    assert_eq!(config.provider_kind, ProviderKind::Sim);
    assert!(matches!(config.provider, Provider::Sim { .. }));
    assert_eq!(config.summary(), "1 store, 1 till, 1 sticker, provider sim (built into the server)");
}

#[test]
fn one_file_with_many_mistakes_gets_all_of_them_listed() {
    let text = r#"
        [server]
        listen = "localhost"
        webhook_max_skew_secs = 0

        [platform]
        provider = "test"

        [[stores]]
        id = "oslo"
        name = "Oslo"
        msn = "12ab"
        currency = "SEK"
        client_secret = "hunter2-in-the-file"
        subscription_key = { file = "/nonexistent/kasse/key" }

        [[stores]]
        id = "oslo"
        name = "Oslo again"
        msn = "1234"
        currency = "NOK"
        client_id = "id"
        client_secret = { env = "OSLO_SECRET" }
        subscription_key = { env = "OSLO_KEY", file = "/also/a/file" }

        [[stores]]
        id = "bergen"
        name = "Bergen"
        msm = "4321"

        [[stores]]
        id = "trondheim"
        name = "Trondheim"
        msn = "1234"
        currency = "NOK"

        [[tills]]
        id = "Till 1"
        name = "Kasse 1"
        store = "nowhere"
        capture = "sometimes"
        callback_qr = "qr-1"

        [[tills]]
        id = "till-2"
        name = "A till whose name is far too long for the app to show"
        store = "oslo"
        callback_qr = "qr-1"
        redirect_sticker = "donations"

        [[tills]]
        id = "till-3"
        name = "Kasse 3"
        store = "bergen"
        redirect_sticker = "has space"

        [[stickers]]
        id = "donations"
        store = "trondheim"
        description = "Donation"
        min = 50
        max = 70000000

        [[stickers]]
        id = "tips/jar"
        store = "nowhere"
        description = "Go"
        min = 500
        max = 100

        [[stickers]]
        id = "parking"
        store = "trondheim"
        description = "Parking"
        min = "ten"
        max = 100
    "#;
    let vars = [
        ("KASSE_STORE_TRONDHEIM_CLIENT_SECRET", "secret"),
        ("KASSE_STORE_TRONDHEIM_SUBSCRIPTION_KEY", "key"),
    ];
    let problems = read_toml(text, &vars).unwrap_err();
    let expected = [
        r#"[server] listen = "localhost" is not valid: it must be an IP address and port"#,
        r#"[[stores]] "oslo" currency = "SEK" is not valid: the platform takes NOK, DKK or EUR"#,
        r#"[[stores]] "oslo": client_secret is written into the file"#,
        r#"[[stores]] "oslo": subscription_key comes from the file /nonexistent/kasse/key, which cannot be read"#,
        r#"[[stores]] "oslo": client_secret comes from the environment variable OSLO_SECRET, which is not set"#,
        r#"[[stores]] "oslo": subscription_key must name exactly one place to read it from"#,
        r#"kasse.toml, line 26, [[stores]] "bergen": unknown field `msm`"#,
        r#"[[tills]] "Till 1" capture = "sometimes" is not valid: it must be automatic or manual"#,
        r#"kasse.toml, line 71, [[stickers]] "parking": invalid type: string "ten", expected i64 in `min`"#,
        "public_url (in [server], or KASSE_PUBLIC_URL) is required with provider test",
        "[server] webhook_max_skew_secs = 0 must be between 1 and 3600",
        r#"[[stores]] id "oslo" is used more than once"#,
        r#"[[stores]] "oslo": msn = "12ab" is not a merchant serial number"#,
        r#"[[stores]] "oslo" has no client_id"#,
        r#"[[stores]] "trondheim" has no client_id"#,
        r#"[[stores]] "oslo" and "trondheim" both have msn = "1234""#,
        r#"[[tills]] id "Till 1" must be 1 to 24 lower-case letters"#,
        r#"[[tills]] "Till 1" belongs to store "nowhere", which is not among the [[stores]]"#,
        r#"[[tills]] "till-2": name = "A till whose name is far too long for the app to show" must be 1 to 36 characters"#,
        r#"[[tills]] "till-2": redirect_sticker = "donations" is also the id of one of the [[stickers]]"#,
        r#"[[tills]] "till-3": redirect_sticker = "has space" must be 1 to 128 letters"#,
        r#"[[tills]] "Till 1" and "till-2" both have callback_qr = "qr-1""#,
        r#"[[stickers]] "donations": min = 50 is below the platform's smallest NOK payment, 100"#,
        r#"[[stickers]] "donations": max = 70000000 is above the platform's largest payment, 65000000"#,
        r#"[[stickers]] id "tips/jar" must be 1 to 128 letters"#,
        r#"[[stickers]] "tips/jar": description = "Go" must be 3 to 100 characters"#,
        r#"[[stickers]] "tips/jar" belongs to store "nowhere", which is not among the [[stores]]"#,
        r#"[[stickers]] "tips/jar": min = 500 is above max = 100"#,
    ];
    let listed = sentences(&problems);
    for sentence in expected {
        assert!(listed.contains(sentence), "missing {sentence:?} in\n{listed}");
    }
    assert_eq!(problems.len(), expected.len(), "\n{listed}");
    assert!(!listed.contains("hunter2"), "a written secret is never repeated:\n{listed}");
    // "bergen" could not be read, so till-3 naming it is not a second mistake.
    assert!(!listed.contains(r#""till-3" belongs to"#), "{listed}");
}

#[test]
fn unparsable_toml_is_reported_with_its_line_and_column() {
    let problems = read_toml("[server]\nlisten = 127.0.0.1:8080\n", &[]).unwrap_err();
    let [ConfigProblem::Syntax { at: Some((2, column)), .. }] = problems.as_slice() else {
        panic!("{problems:?}");
    };
    assert!(*column > 1, "{problems:?}");
    assert!(problems[0].to_string().starts_with("kasse.toml, line 2, column "), "{}", problems[0]);
}

#[test]
fn an_unknown_section_is_reported_where_it_is() {
    let problems = read_toml("[server]\n\n[[store]]\nid = \"x\"\n", &[]).unwrap_err();
    let listed = sentences(&problems);
    assert!(listed.contains("kasse.toml, line 3, column "), "{listed}");
    assert!(listed.contains("unknown field `store`"), "{listed}");
}

#[test]
fn a_secret_written_into_the_file_is_refused_with_a_sentence_saying_why() {
    let text = TEST_PLATFORM.replace(r#"{ env = "MAJORSTUEN_SECRET" }"#, r#""s3cr3t-value""#);
    let problems = read_toml(&text, &[("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key")]).unwrap_err();
    assert_eq!(
        sentences(&problems),
        "- [[stores]] \"majorstuen\": client_secret is written into the file, and anyone who can read \
         the file, its backups or its history can read it; keep the value in an environment variable \
         or a file and write client_secret = { env = \"VARIABLE\" } or client_secret = { file = \"PATH\" }\n"
    );
}

#[test]
fn a_secret_written_into_the_file_is_refused_even_on_the_simulator() {
    let text = EXAMPLE.replacen(r#"currency = "NOK""#, "currency = \"NOK\"\nsubscription_key = \"abc\"", 1);
    let problems = read_toml(&text, &[]).unwrap_err();
    assert!(matches!(problems.as_slice(), [ConfigProblem::LiteralSecret { field: "subscription_key", .. }]));
}

#[test]
fn secrets_from_env_and_file_resolve_and_never_appear_in_debug_output() {
    let key = TempFile::new("the-subscription-key-from-a-file\n");
    let text = TEST_PLATFORM.replace(
        "client_secret = ",
        &format!("subscription_key = {{ file = {:?} }}\nclient_secret = ", key.0),
    );
    let config = read_toml(&text, &[("MAJORSTUEN_SECRET", "the-client-secret-from-env")]).unwrap();
    let credentials = config.stores[0].credentials.as_ref().unwrap();
    assert_eq!(credentials.client_secret.expose(), "the-client-secret-from-env");
    assert_eq!(credentials.subscription_key.expose(), "the-subscription-key-from-a-file");
    assert_eq!(credentials.client_id, "fb492b5e-7907-4d83-ba20-c7fb60ca35de");
    assert_eq!(credentials.msn, "654321");
    assert_eq!(
        config.stores[0].secrets_from,
        Some(SecretSources {
            client_secret: SecretSource::Env("MAJORSTUEN_SECRET".to_owned()),
            subscription_key: SecretSource::File(key.0.clone()),
        })
    );
    let debug = format!("{config:?}");
    assert!(!debug.contains("the-client-secret-from-env"), "{debug}");
    assert!(!debug.contains("the-subscription-key-from-a-file"), "{debug}");
}

#[test]
fn a_store_naming_no_secrets_reads_them_from_its_default_variables() {
    let text = TEST_PLATFORM.replace(r#"client_secret = { env = "MAJORSTUEN_SECRET" }"#, "");
    let config = read_toml(
        &text,
        &[
            ("KASSE_STORE_MAJORSTUEN_CLIENT_SECRET", "secret"),
            ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key"),
        ],
    )
    .unwrap();
    let credentials = config.stores[0].credentials.as_ref().unwrap();
    assert_eq!(
        (credentials.client_secret.expose(), credentials.subscription_key.expose()),
        ("secret", "key")
    );
}

#[test]
fn a_missing_secret_says_which_variable_or_file_to_provide() {
    let problems = read_toml(TEST_PLATFORM, &[]).unwrap_err();
    assert_eq!(
        sentences(&problems),
        "- [[stores]] \"majorstuen\": client_secret comes from the environment variable \
         MAJORSTUEN_SECRET, which is not set\n\
         - [[stores]] \"majorstuen\": subscription_key comes from the environment variable \
         KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY (the default, as the file names no \
         subscription_key), which is not set\n"
    );
    let empty = TempFile::new("\n");
    let text =
        TEST_PLATFORM.replace(r#"{ env = "MAJORSTUEN_SECRET" }"#, &format!("{{ file = {:?} }}", empty.0));
    let problems = read_toml(&text, &[("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key")]).unwrap_err();
    assert_eq!(
        sentences(&problems),
        format!(
            "- [[stores]] \"majorstuen\": client_secret comes from the file {}, which is empty\n",
            empty.0.display()
        )
    );
}

#[test]
fn the_simulator_needs_no_credentials_and_ignores_them() {
    let text = TEST_PLATFORM.replace(r#"provider = "test""#, r#"provider = "sim""#);
    let config = read_toml(&text, &[]).unwrap();
    assert!(config.stores[0].credentials.is_none());
    assert!(matches!(config.provider, Provider::Sim { .. }));
}

#[test]
fn a_kasse_sim_on_its_own_needs_credentials_but_not_https() {
    let text = EXAMPLE.replace("# base_url = ", "base_url = ");
    let problems = read_toml(&text, &[]).unwrap_err();
    assert_eq!(
        sentences(&problems),
        "- [[stores]] \"grunerlokka\": client_secret comes from the environment variable \
         KASSE_STORE_GRUNERLOKKA_CLIENT_SECRET (the default, as the file names no client_secret), \
         which is not set\n\
         - [[stores]] \"grunerlokka\": subscription_key comes from the environment variable \
         KASSE_STORE_GRUNERLOKKA_SUBSCRIPTION_KEY (the default, as the file names no \
         subscription_key), which is not set\n\
         - [[stores]] \"grunerlokka\" has no client_id, which the platform needs; copy it from the \
         sales unit's API keys in the merchant portal\n"
    );
}

#[test]
fn environment_variables_win_over_the_file() {
    let config = read_toml(
        TEST_PLATFORM,
        &[
            ("KASSE_LISTEN", "0.0.0.0:9000"),
            ("KASSE_PUBLIC_URL", "https://elsewhere.example.no/kasse"),
            ("KASSE_DIST", "/srv/kasse/dist"),
            ("KASSE_DATABASE_URL", "sqlite:///var/lib/kasse/kasse.db"),
            ("KASSE_PROVIDER", "production"),
            ("MAJORSTUEN_SECRET", "secret"),
            ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key"),
        ],
    )
    .unwrap();
    assert_eq!(config.listen, SocketAddr::from(([0, 0, 0, 0], 9000)));
    assert_eq!(config.public_url.as_ref().map(Url::as_str), Some("https://elsewhere.example.no/kasse/"));
    assert_eq!(config.dist, PathBuf::from("/srv/kasse/dist"));
    assert_eq!(config.database_url, "sqlite:///var/lib/kasse/kasse.db");
    assert_eq!(config.provider_kind, ProviderKind::Production);
    assert!(
        matches!(&config.provider, Provider::Platform { base_url } if base_url.as_str() == "https://api.vipps.no/")
    );

    let problems =
        read_toml(EXAMPLE, &[("KASSE_PLATFORM_URL", "http://127.0.0.1:9090"), ("KASSE_PROVIDER", "sim")])
            .unwrap_err();
    assert!(
        problems.iter().all(|p| matches!(
            p,
            ConfigProblem::SecretUnavailable { .. } | ConfigProblem::MissingClientId(_)
        )),
        "a kasse-sim on its own needs credentials: {problems:?}"
    );
}

#[test]
fn a_bad_environment_variable_is_named_in_its_problem() {
    let problems =
        read_toml(EXAMPLE, &[("KASSE_PROVIDER", "staging"), ("KASSE_LISTEN", "8080")]).unwrap_err();
    assert_eq!(
        sentences(&problems),
        "- KASSE_LISTEN = \"8080\" is not valid: it must be an IP address and port, like 127.0.0.1:8080\n\
         - KASSE_PROVIDER = \"staging\" is not valid: it must be sim, test or production\n"
    );
}

#[test]
fn a_real_platform_needs_an_https_public_url() {
    let text = TEST_PLATFORM.replace("https://kasse.example.no", "http://kasse.example.no");
    let vars = [("MAJORSTUEN_SECRET", "secret"), ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key")];
    let problems = read_toml(&text, &vars).unwrap_err();
    assert_eq!(
        sentences(&problems),
        "- public_url = \"http://kasse.example.no/\" must start with https:// with provider test: the \
         platform delivers webhooks to https addresses only\n"
    );
    let text = TEST_PLATFORM.replace(r#"client_id = "fb492b5e-7907-4d83-ba20-c7fb60ca35de""#, "");
    let problems = read_toml(&text, &vars).unwrap_err();
    assert!(matches!(problems.as_slice(), [ConfigProblem::MissingClientId(store)] if store == "majorstuen"));
}

#[test]
fn a_file_that_cannot_be_read_says_so() {
    let problems = Config::load(Some(Path::new("/nonexistent/kasse.toml")), &env(&[])).unwrap_err();
    assert!(
        problems[0].to_string().starts_with("cannot read the configuration file /nonexistent/kasse.toml: "),
        "{problems:?}"
    );
}

#[test]
fn a_value_wrong_in_several_ways_or_a_mistake_repeated_is_named_once_each_at_its_line() {
    // Two stores with the same misspelt field, a store whose currency the platform does not take
    // and which has no client_id, and a sticker id that is wrong as an id, taken by a till as its
    // redirect sticker, and bounded the wrong way round.
    let text = r#"[server]
        public_url = "http://kasse.example.no"

        [platform]
        provider = "test"

        [[stores]]
        id = "oslo"
        name = "Oslo"
        msn = "12345"
        curency = "NOK"

        [[stores]]
        id = "bergen"
        name = "Bergen"
        msn = "23456"
        curency = "NOK"

        [[stores]]
        id = "tromso"
        name = "Tromsø"
        msn = "34567"
        currency = "SEK"
        refund_pin_above = -1

        [[tills]]
        id = "till-1"
        name = "Kasse 1"
        store = "oslo"
        redirect_sticker = "tips jar"

        [[tills]]
        id = "till-2"
        name = "Kasse 2"
        store = "bergen"

        [[stickers]]
        id = "tips jar"
        store = "tromso"
        description = "Tips"
        min = 1
        max = 0
    "#;
    let vars =
        [("KASSE_STORE_TROMSO_CLIENT_SECRET", "secret"), ("KASSE_STORE_TROMSO_SUBSCRIPTION_KEY", "key")];
    let problems = read_toml(text, &vars).unwrap_err();
    let fields = "expected one of `id`, `name`, `msn`, `currency`, `client_id`, `client_secret`, \
                  `subscription_key`, `vat_number`, `street`, `zip_code`, `city`, `refund_pin_above`, \
                  `earlier_day_refunds_need_manager`, `loyalty_members`, `loyalty_callback`, \
                  `loyalty_callback_secret`, `loyalty_check_in`";
    let qr_id = "must be 1 to 128 letters (a-z, A-Z), digits, '_' or '-'";
    assert_eq!(
        sentences(&problems),
        format!(
            "- public_url = \"http://kasse.example.no/\" must start with https:// with provider test: the \
             platform delivers webhooks to https addresses only\n\
             - kasse.toml, line 7, [[stores]] \"oslo\": unknown field `curency`, {fields}\n\
             - kasse.toml, line 13, [[stores]] \"bergen\": unknown field `curency`, {fields}\n\
             - [[stores]] \"tromso\" currency = \"SEK\" is not valid: the platform takes NOK, DKK or EUR\n\
             - [[stores]] \"tromso\" refund_pin_above = \"-1\" is not valid: an amount in minor units, 0 or \
             more\n\
             - [[stores]] \"tromso\" has no client_id, which the platform needs; copy it from the sales \
             unit's API keys in the merchant portal\n\
             - [[tills]] \"till-1\": redirect_sticker = \"tips jar\" {qr_id} (it is a QR id at the platform \
             and part of a URL)\n\
             - [[tills]] \"till-1\": redirect_sticker = \"tips jar\" is also the id of one of the \
             [[stickers]]; /q/tips jar can lead to one of them only\n\
             - [[stickers]] id \"tips jar\" {qr_id} (it is the redirect QR's id and the /q/{{id}} of its \
             landing page)\n\
             - [[stickers]] \"tips jar\": min = 1 is above max = 0\n"
        ),
        "not said: that the tills' stores are missing (they exist, unread), that there are no stores, \
         that tromso has no credentials (it has, without a client_id), or that min is below the \
         platform's smallest payment in a currency tromso does not take"
    );
    let lines: Vec<usize> = problems
        .iter()
        .filter_map(|problem| match problem {
            ConfigProblem::Shape { line, .. } => Some(*line),
            _ => None,
        })
        .collect();
    assert_eq!(lines, [7, 13], "each misspelt table at the line where it starts");
}

#[test]
fn proxies_sessions_limits_and_retention_are_read_and_bad_ones_are_named() {
    let base = "[[stores]]\nid = \"a\"\nname = \"A\"\nmsn = \"1234\"\ncurrency = \"NOK\"\n\
                [[tills]]\nid = \"t\"\nname = \"T\"\nstore = \"a\"\n";
    let text = format!(
        "[server]\ntrusted_proxies = [\"127.0.0.1/32\", \"::1\", \"10.0.0.0/8\"]\nretention_days = 30\n\
         [sessions]\nidle_hours = 12\nmax_days = 7\n[limits]\nstreams_per_till = 2\nstreams_per_sticker = 5\n{base}"
    );
    let config = Config::from_toml(&text, Path::new("kasse.toml"), &env(&[])).unwrap();
    let proxies: Vec<String> = config.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(proxies, ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]);
    assert_eq!(config.retention, std::time::Duration::from_hours(30 * 24));
    assert_eq!(config.sessions.idle, std::time::Duration::from_hours(12));
    assert_eq!(config.sessions.lifetime, std::time::Duration::from_hours(7 * 24));
    assert_eq!((config.limits.streams_per_till, config.limits.streams_per_payment), (2, 4));
    assert_eq!(config.limits.streams_per_sticker, 5);

    let text = format!(
        "[server]\ntrusted_proxies = [\"proxy.local\"]\nretention_days = 0\n\
         [sessions]\nidle_hours = 200\nmax_days = 1\n[limits]\nstreams_total = 0\n{base}"
    );
    let problems: Vec<String> = Config::from_toml(&text, Path::new("kasse.toml"), &env(&[]))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "[server] trusted_proxies = \"proxy.local\" is not valid: it must be a network or an address, like 10.0.0.0/8 or ::1",
            "[server] retention_days = \"0\" is not valid: it must be at least 1",
            "[sessions] idle_hours = \"200\" is not valid: it must be no longer than max_days, which ends a session however much it is used",
            "[limits] streams_total = \"0\" is not valid: it must be at least 1",
        ]
    );
    let text = format!("[server]\nretention_days = 7\n[sessions]\nmax_days = 30\n{base}");
    let problems: Vec<String> = Config::from_toml(&text, Path::new("kasse.toml"), &env(&[]))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "[server] retention_days = \"7\" is not valid: it must be at least [sessions] max_days, so no session is pruned while it may still be used"
        ]
    );
}

/// One store and one till on the built-in simulator, to put a database setting in front of.
const MINIMAL: &str = "[[stores]]\nid = \"a\"\nname = \"A\"\nmsn = \"1234\"\ncurrency = \"NOK\"\n\
                       [[tills]]\nid = \"t\"\nname = \"T\"\nstore = \"a\"\n";

/// The database URL `text` (with [`MINIMAL`] after it) and `vars` configure.
fn database_of(text: &str, vars: &[(&str, &str)]) -> Result<String, String> {
    read_toml(&format!("{text}\n{MINIMAL}"), vars)
        .map(|config| config.database_url)
        .map_err(|problems| sentences(&problems))
}

#[test]
fn the_database_is_read_from_its_own_table_and_is_sqlite_in_data_without_one() {
    assert_eq!(database_of("", &[]).unwrap(), "sqlite://data/kasse.db");
    assert_eq!(
        database_of("[database]\nurl = \"sqlite:///var/lib/kasse/kasse.db\"", &[]).unwrap(),
        "sqlite:///var/lib/kasse/kasse.db"
    );
    assert_eq!(database_of("[database]\n", &[]).unwrap(), "sqlite://data/kasse.db");
    assert_eq!(database_of("[database]\nurl = \"sqlite:kasse.db\"", &[]).unwrap(), "sqlite:kasse.db");
}

#[test]
fn statements_at_once_is_four_unless_written_and_from_one_to_the_connections_kept() {
    let read = |table: &str| {
        read_toml(&format!("{table}\n{MINIMAL}"), &[])
            .map(|config| config.statements_at_once)
            .map_err(|problems| sentences(&problems))
    };
    assert_eq!(read(""), Ok(4));
    assert_eq!(read("[database]\nstatements_at_once = 2"), Ok(2));
    assert_eq!(read("[database]\nstatements_at_once = 16"), Ok(16));
    assert_eq!(
        read("[database]\nstatements_at_once = 0"),
        Err("- [database] statements_at_once = \"0\" is not valid: it must be at least 1\n".to_owned())
    );
    assert_eq!(
        read("[database]\nstatements_at_once = 17"),
        Err("- [database] statements_at_once = \"17\" is not valid: it must be at most 16, the connections \
             each instance keeps for its statements\n"
            .to_owned())
    );
}

#[test]
fn webhook_registrations_are_checked_every_ten_minutes_unless_written_from_ten_seconds_to_a_day() {
    let read = |table: &str| {
        read_toml(&format!("{table}\n{MINIMAL}"), &[])
            .map(|config| config.webhooks_check_every)
            .map_err(|problems| sentences(&problems))
    };
    assert_eq!(read(""), Ok(Duration::from_mins(10)));
    assert_eq!(read("[server]\nwebhooks_check_every_secs = 10"), Ok(Duration::from_secs(10)));
    assert_eq!(read("[server]\nwebhooks_check_every_secs = 86400"), Ok(Duration::from_hours(24)));
    for wrong in [9, 86_401] {
        assert_eq!(
            read(&format!("[server]\nwebhooks_check_every_secs = {wrong}")),
            Err(format!(
                "- [server] webhooks_check_every_secs = \"{wrong}\" is not valid: it must be from 10 to 86400: \
                 at least ten seconds between checks of the platform's webhook registrations, and at least \
                 one a day\n"
            ))
        );
    }
}

#[test]
fn the_reconciler_looks_every_second_unless_written_and_at_most_every_hour() {
    let read = |table: &str| {
        read_toml(&format!("{table}\n{MINIMAL}"), &[])
            .map(|config| config.reconcile_every)
            .map_err(|problems| sentences(&problems))
    };
    assert_eq!(read(""), Ok(Duration::from_secs(1)));
    assert_eq!(read("[server]\nreconcile_every_secs = 30"), Ok(Duration::from_secs(30)));
    assert_eq!(read("[server]\nreconcile_every_secs = 3600"), Ok(Duration::from_hours(1)));
    assert_eq!(
        read("[server]\nreconcile_every_secs = 0"),
        Err("- [server] reconcile_every_secs = \"0\" is not valid: it must be at least 1\n".to_owned())
    );
    assert_eq!(
        read("[server]\nreconcile_every_secs = 3601"),
        Err("- [server] reconcile_every_secs = \"3601\" is not valid: it must be at most 3600, so that no \
             more than an hour passes between the reconciler's rounds\n"
            .to_owned())
    );
}

#[test]
fn postgres_urls_are_accepted_even_with_a_password_in_the_file() {
    for url in [
        "postgres://kasse@db.example.no:5432/kasse",
        "postgresql://kasse@db.example.no/kasse?sslmode=require",
        "postgres://kasse:file-password@db.example.no/kasse",
    ] {
        assert_eq!(database_of(&format!("[database]\nurl = {url:?}"), &[]).unwrap(), url);
    }
}

#[test]
fn the_environment_wins_over_the_database_table() {
    let text = "[database]\nurl = \"sqlite://data/kasse.db\"";
    let url = "postgres://kasse:from-the-secrets-manager@db.example.no/kasse";
    assert_eq!(database_of(text, &[("KASSE_DATABASE_URL", url)]).unwrap(), url);
    // An empty variable is not set, as with every other setting.
    assert_eq!(database_of(text, &[("KASSE_DATABASE_URL", "")]).unwrap(), "sqlite://data/kasse.db");
    // Nor is a wrong value in the file judged when the environment replaces it.
    let text = "[database]\nurl = \"mysql://db/kasse\"";
    assert_eq!(database_of(text, &[("KASSE_DATABASE_URL", url)]).unwrap(), url);
}

#[test]
fn a_database_kasse_cannot_open_is_refused_naming_the_setting_and_both_forms() {
    let expected = "is not valid: it must be a SQLite database, sqlite:PATH like sqlite://data/kasse.db, \
                    or a PostgreSQL one, postgres://… or postgresql://… like \
                    postgres://kasse@db.example.no/kasse\n";
    assert_eq!(
        database_of("[database]\nurl = \"mysql://kasse@db.example.no/kasse\"", &[]).unwrap_err(),
        format!("- [database] url = \"mysql://kasse@db.example.no/kasse\" {expected}")
    );
    assert_eq!(
        database_of("[database]\nurl = \"data/kasse.db\"", &[]).unwrap_err(),
        format!("- [database] url = \"data/kasse.db\" {expected}")
    );
    assert_eq!(
        database_of("", &[("KASSE_DATABASE_URL", "postgres://db.example.no:pg/kasse")]).unwrap_err(),
        format!("- KASSE_DATABASE_URL = \"postgres://db.example.no:pg/kasse\" {expected}")
    );
    assert_eq!(
        database_of("[server]\ndatabase = \"sqlite:\"", &[]).unwrap_err(),
        format!("- [server] database = \"sqlite:\" {expected}")
    );
    // A [database] table with the wrong shape is said where it is.
    assert_eq!(
        database_of("[database]\nuri = \"sqlite://data/kasse.db\"", &[]).unwrap_err(),
        "- kasse.toml, line 1, [database]: unknown field `uri`, expected `url` or `statements_at_once`\n"
    );
}

#[test]
fn a_file_from_before_the_database_table_is_still_read() {
    let old = "[server]\ndatabase = \"sqlite:///srv/kasse/old.db\"\n";
    assert_eq!(database_of(old, &[]).unwrap(), "sqlite:///srv/kasse/old.db");
    let both = format!("{old}[database]\nurl = \"postgres://kasse@db.example.no/kasse\"\n");
    assert_eq!(database_of(&both, &[]).unwrap(), "postgres://kasse@db.example.no/kasse");
    // The old place is not judged when [database] url replaces it.
    let both = "[server]\ndatabase = \"mysql://db/kasse\"\n[database]\nurl = \"sqlite:new.db\"\n";
    assert_eq!(database_of(both, &[]).unwrap(), "sqlite:new.db");
    let url = "postgres://kasse:pw@db/kasse";
    assert_eq!(database_of(old, &[("KASSE_DATABASE_URL", url)]).unwrap(), url);
}

#[test]
fn a_database_password_never_appears_in_a_problem_or_in_debug_output() {
    let password = "hunter2-db-password";
    let refused = [
        format!("mysql://root:{password}@db.example.no/kasse"),
        // Not percent-encoded, so not a URL at all.
        format!("postgres://kasse:{password}/with#slash@db.example.no:5432/kasse"),
        format!("postgres://kasse@db.example.no:port/kasse?password={password}"),
        format!("host=db.example.no user=kasse password={password}"),
    ];
    for url in &refused {
        for (text, vars) in [
            (format!("[database]\nurl = {url:?}"), vec![]),
            (format!("[server]\ndatabase = {url:?}"), vec![]),
            (String::new(), vec![("KASSE_DATABASE_URL", url.as_str())]),
        ] {
            let listed = database_of(&text, &vars).unwrap_err();
            assert!(listed.contains(" is not valid: it must be a SQLite database"), "{listed}");
            assert!(listed.contains("***"), "the password's place is shown: {listed}");
            assert!(!listed.contains(password), "{listed}");
        }
    }
    let listed = database_of(&format!("[database]\nurl = {:?}", refused[0]), &[]).unwrap_err();
    assert!(listed.starts_with("- [database] url = \"mysql://root:***@db.example.no/kasse\" is not"));

    let url = format!("postgres://kasse:{password}@db.example.no/kasse");
    let config = read_toml(&format!("[database]\nurl = {url:?}\n{MINIMAL}"), &[]).unwrap();
    assert_eq!(config.database_url, url, "the server itself gets the password");
    let debug = format!("{config:?}");
    assert!(debug.contains("database_url: \"postgres://kasse:***@db.example.no/kasse\""), "{debug}");
    assert!(!debug.contains(password), "{debug}");
}

#[test]
fn a_managers_session_is_half_an_hour_unused_or_twelve_hours_unless_set_and_never_longer_than_a_tills() {
    let base = "[[stores]]\nid = \"a\"\nname = \"A\"\nmsn = \"1234\"\ncurrency = \"NOK\"\n\
                [[tills]]\nid = \"t\"\nname = \"T\"\nstore = \"a\"\n";
    let config = Config::from_toml(base, Path::new("kasse.toml"), &env(&[])).unwrap();
    assert_eq!(config.manager_sessions, crate::config::SessionPolicy::MANAGER);
    assert_eq!(config.manager_sessions.idle, std::time::Duration::from_mins(30));

    let text = format!("[sessions]\nmanager_idle_minutes = 20\nmanager_max_hours = 8\n{base}");
    let config = Config::from_toml(&text, Path::new("kasse.toml"), &env(&[])).unwrap();
    assert_eq!(config.manager_sessions.idle, std::time::Duration::from_mins(20));
    assert_eq!(config.manager_sessions.lifetime, std::time::Duration::from_hours(8));

    let text = format!("[sessions]\nidle_hours = 24\nmax_days = 1\nmanager_max_hours = 30\n{base}");
    let problems: Vec<String> = Config::from_toml(&text, Path::new("kasse.toml"), &env(&[]))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        ["[sessions] manager_max_hours = \"30\" is not valid: it must be no longer than max_days",]
    );
    let text = format!("[sessions]\nmanager_idle_minutes = 600\nmanager_max_hours = 2\n{base}");
    let problems: Vec<String> = Config::from_toml(&text, Path::new("kasse.toml"), &env(&[]))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "[sessions] manager_idle_minutes = \"600\" is not valid: it must be no longer than manager_max_hours, which ends a manager's session however much it is used",
        ]
    );
}

#[test]
fn loyalty_needs_one_member_list_that_can_be_read_and_its_check_in_screen_is_norways() {
    let dir = std::env::temp_dir().join(format!("kasse-loyalty-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let members = dir.join("members.csv");
    std::fs::write(&members, "phone_number,name\n4791234567,Kari\n").unwrap();
    let store = |currency: &str, loyalty: &str| {
        format!(
            "[[stores]]\nid = \"a\"\nname = \"A\"\nmsn = \"1234\"\ncurrency = \"{currency}\"\n{loyalty}\n\
             [[tills]]\nid = \"t\"\nname = \"T\"\nstore = \"a\"\n"
        )
    };
    let read =
        |text: &str, vars: &[(&str, &str)]| Config::from_toml(text, Path::new("kasse.toml"), &env(vars));

    let file = format!("loyalty_members = \"{}\"\nloyalty_check_in = true", members.display());
    let config = read(&store("NOK", &file), &[]).unwrap();
    let loyalty = config.stores[0].loyalty.as_ref().unwrap();
    assert!(matches!(&loyalty.members, crate::config::MemberList::File(path) if *path == members));
    assert!(loyalty.check_in_screen);
    assert!(read(&store("NOK", ""), &[]).unwrap().stores[0].loyalty.is_none(), "off unless set");

    let callback = "loyalty_callback = \"https://loyalty.example.no/member\"";
    let config = read(&store("DKK", callback), &[("KASSE_STORE_A_LOYALTY_CALLBACK_SECRET", "s")]).unwrap();
    let loyalty = config.stores[0].loyalty.as_ref().unwrap();
    assert!(
        matches!(&loyalty.members, crate::config::MemberList::Callback { secret, .. } if secret.expose() == "s")
    );

    for (text, says) in [
        (
            store("NOK", "loyalty_members = \"/nowhere/members.csv\""),
            "a CSV file of members that kasse can read",
        ),
        (store("NOK", &format!("{file}\n{callback}")), "not both"),
        (store("DKK", &file), "NOK stores only"),
        (store("NOK", "loyalty_check_in = true"), "it needs a member list"),
        (store("NOK", "loyalty_callback = \"http://loyalty.example.no/\""), "an https:// URL"),
        (store("NOK", callback), "KASSE_STORE_A_LOYALTY_CALLBACK_SECRET"),
    ] {
        let problems = read(&text, &[]).unwrap_err();
        assert!(sentences(&problems).contains(says), "{says}: {}", sentences(&problems));
    }
}
