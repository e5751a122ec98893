//! Starting a sale: at a till by any in-store flow, or for a customer on a sticker's landing page.
//! The sale is recorded with its create intent first, then the create is sent.

use kasse_api::{Country, Flow, Money, Msisdn, NewSale, Payer, Sale, SaleLine, SaleStatus};
use kasse_vipps::epayment::{
    Amount, BottomLine, CreatePaymentRequest, Customer, CustomerInteraction, OrderLine, PaymentMethod,
    PaymentMethodType, QrFormat, QrImageFormat, Receipt, UnitInfo, UserFlow,
};

use super::record::{Write, idempotency_key};
use super::status::{refusal_sentence, sale_view};
use super::writes::Attempt;
use super::{SaleError, Sales, Sent};
use crate::config::{StoreConfig, TillConfig};
use crate::live::Announcement;
use crate::platform::to_vipps;
use crate::store::{CheckInRow, OperationKind, PaymentRow, StoreError};

/// Everything that makes a new sale, whoever starts it (a till, or a customer on a sticker's
/// landing page).
pub(super) struct Draft<'a> {
    /// The till the sale occupies; empty for an open-amount sticker's.
    pub(super) till_id: &'a str,
    /// The start of its reference: the till's or the sticker's id.
    pub(super) reference_prefix: &'a str,
    pub(super) store: &'a StoreConfig,
    pub(super) amount: Money,
    pub(super) description: String,
    pub(super) flow: Flow,
    pub(super) customer: Option<Customer>,
    pub(super) masked_phone: Option<String>,
    pub(super) return_url: Option<String>,
    pub(super) receipt: Option<Receipt>,
    pub(super) client_key: Option<&'a str>,
    pub(super) sticker_id: Option<&'a str>,
    pub(super) landing_token: Option<String>,
    /// The PoS system that started it through the terminal API, if one did.
    pub(super) pos: Option<PosOrder<'a>>,
    /// Whether the customer is asked to share their number for the store's loyalty programme.
    pub(super) loyalty: bool,
}

/// Who started a sale from a PoS system, and for which of its orders.
#[derive(Debug, Clone, Copy)]
pub struct PosOrder<'a> {
    /// The integrator's id.
    pub integrator_id: &'a str,
    /// The PoS's own order id.
    pub order_id: Option<&'a str>,
}

impl Sales {
    /// Records a new sale at a till, then creates its payment at the platform. With the browser's
    /// `client_key`, a repeated request returns the sale the first one started.
    pub async fn start(
        &self,
        till_id: &str,
        new: NewSale,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        self.start_for(till_id, new, client_key, None).await
    }

    /// [`Sales::start`], for a PoS system's order (`pos`) when one started it.
    pub async fn start_for(
        &self,
        till_id: &str,
        new: NewSale,
        client_key: Option<&str>,
        pos: Option<PosOrder<'_>>,
    ) -> Result<Sale, SaleError> {
        let till = self.till(till_id)?;
        let store = self.store_of(till)?;
        if let Some(key) = client_key
            && let Some(earlier) = self.inner.store.payment_by_client_key(till_id, key).await?
        {
            if earlier.amount != new.amount.value || earlier.flow != new.payer.flow() {
                return Err(SaleError::KeyReused);
            }
            return Self::settled(&earlier);
        }
        let description = match new.description.map(|d| d.trim().to_owned()) {
            Some(d) if (3..=100).contains(&d.chars().count()) => d,
            Some(_) => return Err(SaleError::BadDescription),
            None => format!("{}, {}", store.name, till.name),
        };
        if new.loyalty && store.loyalty.is_none() {
            return Err(SaleError::NoLoyalty);
        }
        let receipt = receipt_of(&new.lines, new.amount, &till.id)?;
        let (customer, masked_phone, check_in) =
            self.customer_for(till, store, &new.payer, crate::now_ms()).await?;
        // A number typed or a personal QR scanned is greeted once the sale is made (a check-in
        // was greeted as it came).
        let greeting = customer.clone().filter(|_| check_in.is_none());
        let draft = Draft {
            till_id,
            reference_prefix: &till.id,
            store,
            amount: new.amount,
            description,
            flow: new.payer.flow(),
            customer,
            masked_phone,
            return_url: None,
            receipt,
            client_key,
            sticker_id: None,
            landing_token: None,
            pos,
            loyalty: new.loyalty,
        };
        let created = self.create(draft, check_in).await;
        if matches!(created, Ok(_) | Err(SaleError::Pending(_)))
            && let Err(e) = self.take_back_presented(till).await
        {
            // The sale is made, and is the answer. The amount stays up; the till, which stopped
            // showing it as the sale started, shows it again at its next resync, to take back.
            tracing::warn!(till = %till.id, error = %e, "could not take back what the till presented");
        }
        let created = created?;
        if let Some(customer) = greeting {
            self.greet(store, &customer);
        }
        Self::settled(&created)
    }

    /// A started sale as the answer to its start: `Pending` while the platform has not confirmed
    /// the create (the till then follows its live events).
    pub(super) fn settled(row: &PaymentRow) -> Result<Sale, SaleError> {
        let sale = sale_view(row);
        if sale.status == SaleStatus::Creating { Err(SaleError::Pending(Box::new(sale))) } else { Ok(sale) }
    }

    /// Records a sale, then creates its payment at the platform.
    #[tracing::instrument(name = "create", skip_all, fields(reference = tracing::field::Empty, till = %draft.till_id))]
    pub(super) async fn create(
        &self,
        draft: Draft<'_>,
        check_in: Option<CheckInRow>,
    ) -> Result<PaymentRow, SaleError> {
        let store = draft.store;
        if draft.amount.currency != store.currency {
            return Err(SaleError::WrongCurrency { expected: store.currency });
        }
        let amount = draft.amount.check_payable()?;
        let now = crate::now_ms();
        // The platform's references are [a-zA-Z0-9-]{8,64}: a sticker's `_` becomes `-`.
        let prefix: String = draft
            .reference_prefix
            .chars()
            .take(24)
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let reference = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        // From here on every log line of this sale names it.
        tracing::Span::current().record("reference", reference.as_str());
        let user_flow = user_flow(draft.flow);
        let description: String = draft.description.chars().take(100).collect();
        let request = CreatePaymentRequest {
            amount: Amount::new(amount.value, to_vipps(amount.currency)),
            customer: draft.customer,
            customer_interaction: Some(CustomerInteraction::CustomerPresent),
            payment_method: PaymentMethod { kind: PaymentMethodType::Wallet },
            reference: reference.clone(),
            user_flow,
            qr_format: (user_flow == UserFlow::Qr)
                .then_some(QrFormat { format: QrImageFormat::TextTargetUrl, size: None }),
            payment_description: Some(description.clone()),
            return_url: draft.return_url,
            minimum_user_age: None,
            industry_data: None,
            profile: draft.loyalty.then(super::loyalty::profile),
            expires_at: None,
            receipt: draft.receipt,
            metadata: None,
            receipt_url: None,
        };
        let row = PaymentRow {
            reference: reference.clone(),
            till_id: draft.till_id.to_owned(),
            msn: store.msn.clone(),
            flow: draft.flow,
            currency: amount.currency,
            amount: amount.value,
            status: SaleStatus::Creating,
            active: true,
            platform_state: None,
            qr: None,
            expires_at: None,
            authorized: 0,
            captured: 0,
            cancelled: 0,
            refunded: 0,
            failure: None,
            next_poll_at: None,
            created_at: now,
            updated_at: now,
            read_version: now,
            description: Some(description),
            masked_phone: draft.masked_phone,
            client_key: draft.client_key.map(str::to_owned),
            sticker_id: draft.sticker_id.map(str::to_owned),
            landing_token: draft.landing_token,
            withdrawn_at: None,
            watch_until: None,
            integrator_id: draft.pos.map(|pos| pos.integrator_id.to_owned()),
            order_id: draft.pos.and_then(|pos| pos.order_id.map(str::to_owned)),
            loyalty: None,
        };
        let write = Write::Create(Box::new(request));
        let key = idempotency_key(&reference, OperationKind::Create, 1);
        let body = write.body();
        // Nobody knows the new reference yet: its lock is free, and taken before anyone can ask.
        let _guard = self.inner.locks.lock(&reference).await?;
        let announcement = self.announcement(&row).await;
        let event = announcement.as_ref().map(Announcement::event);
        let record = write.record(&row.reference, &key, &body, None);
        let charging = check_in.as_ref().map(|c| c.id.as_str());
        let announced = match self.inner.store.insert_sale_charging(&row, record, event, charging).await {
            Ok(id) => id,
            Err(StoreError::TillBusy) => {
                drop(announcement);
                return Err(self.busy(draft.till_id, draft.client_key).await?);
            }
            // Charged by another sale a moment ago: nothing of this one was recorded.
            Err(StoreError::CheckInGone) => return Err(SaleError::CheckInGone),
            Err(e) => return Err(e.into()),
        };
        self.announced(&row, announcement, announced).await;
        self.inner.metrics.sale_started(draft.flow.as_str());
        crate::crash_point("after-record:create");
        tracing::info!(%reference, till = %draft.till_id, flow = draft.flow.as_str(), amount = amount.value, "sale recorded");
        if let Some(check_in) = check_in {
            // The sale goes on: a till still offering the check-in hears it is gone if tapped.
            if let Err(e) = self.publish_check_in(&check_in, Some(&reference)).await {
                tracing::error!(error = %e, "could not tell the till its check-in was charged");
            }
        }
        let mut row = row;
        self.send_recorded_create(&mut row, &key, Attempt::First(&write)).await?;
        Ok(row)
    }

    /// The error for a refused insert: the browser's earlier sale, or the sale in the way.
    pub(super) async fn busy(&self, till_id: &str, client_key: Option<&str>) -> Result<SaleError, SaleError> {
        if let Some(key) = client_key
            && let Some(earlier) = self.inner.store.payment_by_client_key(till_id, key).await?
        {
            // The same request twice at once: the second finds the first's sale.
            return Ok(SaleError::Pending(Box::new(sale_view(&earlier))));
        }
        let active = self.inner.store.active_payment(till_id).await?;
        Ok(SaleError::TillBusy { reference: active.map(|r| r.reference).unwrap_or_default() })
    }

    /// The platform's customer for a payer, the masked number of a phone payer (for the cashier),
    /// and the check-in it uses.
    pub(super) async fn customer_for(
        &self,
        till: &TillConfig,
        store: &StoreConfig,
        payer: &Payer,
        now: i64,
    ) -> Result<(Option<Customer>, Option<String>, Option<CheckInRow>), SaleError> {
        Ok(match payer {
            Payer::Qr => (None, None, None),
            Payer::Phone { phone_number } => {
                let msisdn = Msisdn::parse(phone_number, Country::of_currency(store.currency))?;
                (Some(Customer::phone_number(msisdn.as_str())), Some(msisdn.masked()), None)
            }
            Payer::PersonalQr { personal_qr } => {
                // The platform wants the code exactly as scanned; only a scanner's stray line
                // ending is not part of it.
                let code = personal_qr.trim();
                if !(5..=255).contains(&code.chars().count()) || code.chars().any(char::is_control) {
                    return Err(SaleError::BadPersonalQr);
                }
                (Some(Customer::personal_qr(code)), None, None)
            }
            Payer::CheckIn { check_in } => {
                let row = self
                    .inner
                    .store
                    .check_in(check_in)
                    .await?
                    .filter(|c| {
                        c.till_id.as_deref() == Some(till.id.as_str())
                            && c.charged_by.is_none()
                            && c.expires_at > now
                            && !c.customer_token.is_empty()
                    })
                    .ok_or(SaleError::CheckInGone)?;
                let customer = Customer::customer_token(&row.customer_token);
                (Some(customer), None, Some(row))
            }
        })
    }

    /// Sends (or sends again) the recorded create of a sale.
    pub(super) async fn send_create(&self, reference: &str) -> Result<PaymentRow, SaleError> {
        let mut row = self.payment(reference).await?;
        let key = idempotency_key(reference, OperationKind::Create, 1);
        if row.status() != SaleStatus::Creating {
            let store = &self.inner.store;
            if row.platform_state.is_some() {
                // The platform has the payment (a cancel met it, or a read found it): its create
                // arrived, so the recorded one is done, never to be sent again.
                store.finish_operation(&key, None, crate::now_ms()).await?;
            } else {
                // Its fate is a cancel's to decide; count the look, so it backs off meanwhile.
                store.begin_attempt(&key, crate::now_ms()).await?;
            }
            return Ok(row);
        }
        self.send_recorded_create(&mut row, &key, Attempt::Again).await?;
        Ok(row)
    }

    /// Sends the create recorded under `key` for `row`, a sale still being created, as `attempt`.
    async fn send_recorded_create(
        &self,
        row: &mut PaymentRow,
        key: &str,
        attempt: Attempt<'_>,
    ) -> Result<(), SaleError> {
        match self.send_as(row, key, attempt).await? {
            Sent::Confirmed | Sent::Unknown => {}
            Sent::Refused(e) => {
                row.set_status(SaleStatus::Failed);
                row.failure = Some(refusal_sentence(&e));
                self.save(row).await?;
            }
        }
        Ok(())
    }
}

/// How the platform reaches the customer of a sale in `flow`.
pub(super) const fn user_flow(flow: Flow) -> UserFlow {
    match flow {
        Flow::Qr => UserFlow::Qr,
        Flow::AppSwitch => UserFlow::WebRedirect,
        Flow::PersonalQr | Flow::Phone | Flow::CheckIn | Flow::Sticker => UserFlow::PushMessage,
    }
}

/// The platform's receipt for a sale's lines: each line with its VAT, the till as point of sale.
/// The lines must add up to the amount asked.
fn receipt_of(lines: &[SaleLine], amount: Money, till_id: &str) -> Result<Option<Receipt>, SaleError> {
    if lines.is_empty() {
        return Ok(None);
    }
    let mut sum: i64 = 0;
    let mut order_lines = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        let name = line.name.trim();
        if !(1..=100).contains(&name.chars().count())
            || !(1..=9999).contains(&line.quantity)
            || line.vat_rate > 10_000
            || line.unit_price.currency != amount.currency
            || line.unit_price.value <= 0
        {
            return Err(SaleError::BadLines);
        }
        let (total, vat) = (line.total(), line.vat());
        sum = sum.saturating_add(total);
        order_lines.push(OrderLine {
            name: name.to_owned(),
            id: format!("line-{}", n + 1),
            total_amount: total,
            total_amount_excluding_tax: total - vat,
            total_tax_amount: vat,
            tax_percentage: None,
            tax_rate: Some(line.vat_rate),
            unit_info: Some(UnitInfo {
                unit_price: Some(line.unit_price.value),
                quantity: line.quantity.to_string(),
                quantity_unit: None,
            }),
            discount: None,
            product_url: None,
            is_return: None,
            is_shipping: None,
        });
    }
    if sum != amount.value {
        return Err(SaleError::BadLines);
    }
    Ok(Some(Receipt {
        order_lines,
        bottom_line: BottomLine {
            currency: to_vipps(amount.currency),
            tip_amount: None,
            pos_id: Some(till_id.to_owned()),
            payment_sources: None,
            barcode: None,
            receipt_number: None,
        },
    }))
}
