//! Browser journey: loyalty by consent. At a store with a member list the cashier ticks "Member:
//! ask for their number"; the customer's app asks Kari to share it, she does, and the till shows
//! her as a member by name, as do the sale's page and the history.

use super::display::wait_for_text;
use super::money::wait_for_sale_row;
use super::*;

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_member_asked_at_the_till_shares_her_number_and_is_shown_as_a_member_on_the_till_the_sale_and_the_history()
 {
    let members = std::env::temp_dir().join(format!("kasse-members-{}.csv", std::process::id()));
    std::fs::write(&members, "phone_number,name\n+47 912 34 567,Kari Nordmann\n").unwrap();
    Journey::start_with("loyalty", |config| {
        let list = kasse_server::config::MemberList::File(members.clone());
        config.stores[0].loyalty =
            Some(kasse_server::config::LoyaltyConfig { members: list, check_in_screen: false });
    })
    .await
    .run(async |j| {
        j.type_amount(&["4", "2", "00"]).await?;
        j.wait_for("#ask-loyalty").await?.click().await?;
        let (reference, qr) = j.show_qr().await?;
        // Kari scans it; her app asks first, and she shares.
        let till = j.browser.window().await?;
        let phone = j.browser.new_window(true).await?;
        j.browser.switch_to_window(phone.handle).await?;
        j.browser.goto(&qr).await?;
        let question = j.wait_for(".consent legend").await?.text().await?;
        if !question.contains("asks for your phone number") {
            return Err(format!("the app asked {question:?}").into());
        }
        j.wait_for("input[name='share'][value='yes']").await?.click().await?;
        j.wait_for("button.approve").await?.click().await?;
        j.wait_for(".outcome").await?;
        j.browser.close_window().await?;
        j.browser.switch_to_window(till).await?;

        wait_for_text(&j.browser, ".sale .loyalty", "Member: Kari Nordmann").await?;
        j.keep_screenshot("loyalty-member.png").await?;
        j.browser.goto(&j.url(&format!("till/sales/{reference}"))).await?;
        wait_for_text(&j.browser, ".facts .loyalty dd", "Member: Kari Nordmann").await?;
        j.browser.find(Locator::Css("#nav-history")).await?.click().await?;
        wait_for_sale_row(&j.browser, &reference, &["Member: Kari Nordmann"]).await?;
        Ok(())
    })
    .await;
    let _ = std::fs::remove_file(members);
}
