//! Browser journeys: the till for people who use it without a mouse, with a screen reader, or
//! with less than perfect sight — usable by keyboard alone, every control named, touch targets
//! of at least 44 px, text at WCAG AA contrast, focus always visible — and named in the cashier's
//! language.

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;

use super::*;

/// Checks what is on screen now and lists every problem: text below WCAG AA contrast against
/// what is behind it, controls smaller than 44 px, form fields and buttons without a name.
/// Disabled controls are exempt from contrast (as WCAG says); a field's target is its label
/// when it has one.
const AUDIT: &str = r#"
const problems = [];
const rgb = (css) => {
  const m = css.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const [r, g, b, a = 1] = m[1].split(',').map(parseFloat);
  return { r, g, b, a };
};
const luminance = ({ r, g, b }) => {
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
};
const behind = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c && c.a > 0.5) return c;
  }
  return { r: 255, g: 255, b: 255, a: 1 };
};
const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''} "${(el.textContent || '').trim().slice(0, 40)}"`;
for (const el of document.querySelectorAll('body *')) {
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
  if (el.closest(':disabled, [aria-hidden="true"], svg, video')) continue;
  const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (text) {
    const fg = luminance(rgb(style.color));
    const bg = luminance(behind(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    const needed = large ? 3 : 4.5;
    if (ratio < needed) problems.push(`contrast ${ratio.toFixed(2)} (needs ${needed}): ${describe(el)}`);
  }
  if (el.matches('button, a[href], input:not([type=hidden]), select, textarea')) {
    const target = (el.closest('label') || el).getBoundingClientRect();
    if (target.height < 44 || target.width < 44) {
      problems.push(`target ${Math.round(target.width)}x${Math.round(target.height)} px: ${describe(el)}`);
    }
  }
  if (el.matches('input:not([type=hidden]), select, textarea')) {
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) problems.push(`no label: ${describe(el)}`);
  }
  if (el.matches('button, a[href]') && !((el.textContent || '').trim() || el.getAttribute('aria-label'))) {
    problems.push(`no name: ${describe(el)}`);
  }
}
return problems;
"#;

/// Audits what `browser` shows now (see [`AUDIT`]); `screen` names it in the failure.
pub(super) async fn audit_in(browser: &Client, screen: &str) -> Outcome {
    let problems = browser.execute(AUDIT, vec![]).await?;
    match problems.as_array() {
        Some(list) if list.is_empty() => Ok(()),
        _ => Err(format!("on the {screen}: {problems:#}").into()),
    }
}

impl Journey {
    /// Audits the screen as it is now; `screen` names it in the failure.
    async fn audit(&self, screen: &str) -> Outcome {
        audit_in(&self.browser, screen).await
    }

    /// Presses `keys` one after another on whatever has the focus, as a keyboard does.
    async fn press_keys(&self, keys: &[char]) -> Outcome {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for &key in keys {
            actions = actions.then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        }
        self.browser.perform_actions(actions).await?;
        Ok(())
    }

    /// Presses Tab until the element `id` has the focus (at most `limit` times) and checks the
    /// focus is visible on it.
    async fn tab_to(&self, id: &str, limit: usize) -> Outcome {
        for _ in 0..limit {
            self.press_keys(&[Key::Tab.into()]).await?;
            let focused = self.browser.active_element().await?;
            if focused.attr("id").await?.as_deref() == Some(id) {
                let outline = self
                    .browser
                    .execute("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)]", vec![])
                    .await?;
                if outline[0] == "none" || outline[1].as_f64().unwrap_or(0.0) < 2.0 {
                    return Err(format!("#{id} has the focus but shows no outline ({outline})").into());
                }
                return Ok(());
            }
        }
        Err(format!("{limit} presses of Tab never reached #{id}").into())
    }
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_cashier_using_only_the_keyboard_takes_a_payment_and_cancels_one() {
    Journey::start("keyboard-only")
        .await
        .run(async |j| {
            j.browser.goto(&j.url("till")).await?;
            j.wait_for("#show-qr").await?;
            // Digits typed anywhere on the sale screen go to the keypad; Enter shows the QR code.
            j.press_keys(&['4', '2', '5', '0']).await?;
            // The keys show once their burst is over (a scanner's burst would be no amount).
            super::display::wait_for_text(&j.browser, "#amount", "NOK 42.50").await?;
            j.press_keys(&[Key::Enter.into()]).await?;
            j.wait_for(".sale[data-status='awaitingCustomer']").await?;
            j.tab_to("cancel", 30).await?;
            j.press_keys(&[Key::Enter.into()]).await?;
            j.wait_for(".sale[data-status='cancelled']").await?;
            j.tab_to("next-sale", 30).await?;
            j.press_keys(&[Key::Enter.into()]).await?;
            j.wait_for("#show-qr").await?;

            // The phone flow by keyboard: open it, type the number, send.
            j.press_keys(&['9', '9', '0', '0']).await?;
            j.tab_to("flow-phone", 40).await?;
            j.press_keys(&[Key::Enter.into()]).await?;
            // The opened panel puts the focus where the number is typed.
            j.wait_for("#phone-number").await?;
            let focused = j.browser.active_element().await?.attr("id").await?;
            if focused.as_deref() != Some("phone-number") {
                return Err(format!("after opening the phone panel the focus is on {focused:?}").into());
            }
            j.press_keys(&"91234567".chars().collect::<Vec<_>>()).await?;
            j.press_keys(&[Key::Enter.into()]).await?;
            j.wait_for(".sale[data-status='awaitingCustomer']").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_customers_code_scanned_on_the_keypad_screen_pays_the_amount_typed_and_never_becomes_it() {
    Journey::start("keypad-scan")
        .await
        .run(async |j| {
            j.browser.goto(&j.url("till")).await?;
            j.wait_for("#show-qr").await?;
            j.press_keys(&['5', '0', '0']).await?;
            super::display::wait_for_text(&j.browser, "#amount", "NOK 5.00").await?;
            // A keyboard-wedge scanner reads Kari's code while nothing has the focus: its keys,
            // then Enter, go to the keypad screen.
            let code: Vec<char> = "https://qr.vipps.no/28/2/01/031/4791234567?v=1".chars().collect();
            j.press_keys(&code).await?;
            j.press_keys(&[Key::Enter.into()]).await?;
            j.wait_for(".sale[data-status='awaitingCustomer']").await?;
            let amount = j.browser.find(Locator::Css(".sale .sale-amount")).await?.text().await?;
            if amount.replace('\u{a0}', " ") != "NOK 5.00" {
                return Err(format!("the scan started a sale of {amount:?}").into());
            }
            super::display::wait_for_text(&j.browser, ".sale .customer", "Personal QR code").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn every_till_screen_names_its_controls_keeps_targets_large_and_text_readable() {
    // Manual capture, so the screens with "take the payment" and partial capture show up.
    Journey::start_with("audit", |c| c.tills[0].capture = kasse_server::CapturePolicy::Manual)
    .await
    .run(async |j| {
        j.browser.goto(&j.url("till")).await?;
        j.wait_for("#show-qr").await?;
        // First, the audit itself: it must notice a small, nameless, faint button.
        j.browser
            .execute(
                "const b = document.createElement('button'); b.id = 'planted'; \
                 b.style.cssText = 'height:20px;width:20px;color:#ccc;background:#fff;padding:0;min-height:0;min-width:0'; \
                 document.body.append(b); const c = b.cloneNode(); c.id = 'planted-text'; c.textContent = 'faint'; \
                 document.body.append(c);",
                vec![],
            )
            .await?;
        let found = j.browser.execute(AUDIT, vec![]).await?.to_string();
        for problem in ["target 20x20", "no name: button#planted", "contrast"] {
            if !found.contains(problem) {
                return Err(format!("the audit missed {problem:?}: {found}").into());
            }
        }
        j.browser.refresh().await?;
        j.wait_for("#show-qr").await?;
        j.audit("sale screen").await?;
        j.browser.find(Locator::Css("#flow-lines")).await?.click().await?;
        j.wait_for("#line-name").await?;
        j.audit("receipt lines form").await?;
        j.browser.find(Locator::Css("#flow-phone")).await?.click().await?;
        j.wait_for("#phone-number").await?;
        j.audit("phone panel").await?;
        j.browser.find(Locator::Css("#flow-scan")).await?.click().await?;
        j.wait_for("#scan-input").await?;
        j.audit("scan panel").await?;

        j.type_amount(&["7", "5", "00"]).await?;
        let (_, qr_text) = j.show_qr().await?;
        j.audit("waiting for the customer").await?;
        j.customer_answers(&qr_text, "approve").await?;
        j.wait_for(".sale[data-status='authorized'] #capture").await?;
        j.audit("approved sale").await?;
        j.browser.find(Locator::Css("#details")).await?.click().await?;
        j.wait_for("#capture-part").await?;
        j.audit("sale detail").await?;
        j.browser.goto(&j.url("till/history")).await?;
        j.wait_for("#sales").await?;
        j.audit("history").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_wrong_pairing_code_is_refused_in_the_language_chosen_and_changes_nothing() {
    Journey::start("pairing-refused")
        .await
        .run(async |j| {
            // A browser that is not (or no longer) paired.
            j.browser.delete_all_cookies().await?;
            j.browser.goto(&j.url("pair")).await?;
            j.wait_for("#language").await?.select_by_value("da").await?;
            j.wait_for("#pairing-code").await?.send_keys("WXYZ-2345").await?;
            j.browser.find(Locator::Css("#pair")).await?.click().await?;
            let refusal = j.wait_for(".notice[role='alert']").await?.text().await?;
            if !refusal.starts_with("Koden er ikke gyldig") {
                return Err(format!("a wrong code in Danish said {refusal:?}").into());
            }
            // Still unpaired: the till sends the browser back to pairing.
            j.browser.goto(&j.url("till")).await?;
            j.wait_for("#pairing-code").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_till_whose_session_the_manager_revokes_is_sent_to_pairing_with_a_sentence_saying_why() {
    Journey::start("session-revoked")
        .await
        .run(async |j| {
            j.browser.goto(&j.url("till")).await?;
            j.wait_for("#show-qr").await?;
            // The manager ends every session of the till, as `kasse-server till revoke --all` does.
            let devices = kasse_server::ops::pairing::Devices::of(&j.server.tools());
            let revoked = devices.revoke_till("till-1").await?;
            if revoked.len() != 1 {
                return Err(format!("revoked {revoked:?}, not the one till").into());
            }
            // Without a tap: the till's live stream ends, and the till finds out why.
            let reason = j.wait_for(".pair .reason").await?.text().await?;
            if !reason.contains("unpaired this browser") {
                return Err(format!("the pairing page says {reason:?}").into());
            }
            let url = j.browser.current_url().await?;
            if url.path() != "/pair" || url.query() != Some("reason=revoked") {
                return Err(format!("the till went to {url}").into());
            }
            // Pairing again with a new code gives the till back.
            let code = j.server.pairing_code("till-1", kasse_api::Role::Till).await?;
            j.wait_for("#pairing-code").await?.send_keys(&code).await?;
            j.browser.find(Locator::Css("#pair")).await?.click().await?;
            j.wait_for("#show-qr").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_keypad_and_the_qr_code_are_named_in_the_cashiers_language() {
    Journey::start("spoken-norwegian")
        .await
        .run(async |j| {
            j.browser.find(Locator::Css("#language")).await?.select_by_value("nb").await?;
            j.type_amount(&["4", "2", "00"]).await?;
            for (key, spoken) in [("00", "dobbel null"), ("⌫", "slett siste siffer"), ("7", "7")] {
                let button = j.browser.find(Locator::Css(&format!("button[data-key='{key}']"))).await?;
                let label = button.attr("aria-label").await?;
                if label.as_deref() != Some(spoken) {
                    return Err(format!("the key {key} is read out as {label:?}, not {spoken:?}").into());
                }
            }
            j.browser.find(Locator::Css("#show-qr")).await?.click().await?;
            let code = j.wait_for(".sale[data-status='awaitingCustomer'] svg.qr").await?;
            let label = code.attr("aria-label").await?.unwrap_or_default().replace('\u{a0}', " ");
            if !label.starts_with("QR-kode for å betale") || !label.contains("42,00") {
                return Err(format!("the QR code is read out as {label:?}").into());
            }
            Ok(())
        })
        .await;
}
