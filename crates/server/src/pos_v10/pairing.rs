//! Starting the sale that takes a v10 payment, and moving a payment shown as a QR code to the
//! customer who checks in at the till's sticker before anyone pays that code.
//!
//! The move is recorded first (`pairing_check_in`), then the QR sale is cancelled (the request
//! only, so a customer approving that moment wins and pays by QR), then the push to the
//! checked-in customer starts. Each step is idempotent, and [`Pairing::run`] looks again every
//! second on every instance, so a crash between two steps is finished by whichever looks next.

use std::time::Duration;

use kasse_api::{Flow, Money, NewSale, Payer, SaleStatus};
use tokio::sync::watch;

use super::sale_key;
use crate::sales::{PosOrder, SaleError, Sales};
use crate::store::{Named as _, Store, V10PaymentRow, V10PosRow};

/// How often payments in play are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Starts and moves v10 payments' sales.
#[derive(Clone)]
pub struct Pairing {
    store: Store,
    sales: Sales,
}

impl Pairing {
    /// Over `store`'s payments, with `sales`.
    pub const fn new(store: Store, sales: Sales) -> Self {
        Self { store, sales }
    }

    /// Starts the sale of a payment whose amount is known: pushed to the customer checked in at
    /// the till's sticker if exactly one is, otherwise a QR code on the till. Returns its reference.
    pub async fn start(&self, payment: &V10PaymentRow, pos: &V10PosRow) -> Result<String, SaleError> {
        // Started before, and the process died before naming it: that sale, in whatever way it
        // went (a customer checking in since moves it to them at the next round). Asked for anew,
        // a customer's check-in since would choose another way and key, and the second sale,
        // refused beside the first at its till, would leave the payment unstarted for good.
        if let Some(earlier) = self.store.active_payment(&pos.till_id).await?
            && earlier
                .client_key
                .as_deref()
                .is_some_and(|key| key.starts_with(&sale_key(&payment.payment_id, "")))
        {
            tracing::info!(payment = %payment.payment_id, reference = %earlier.reference, "a v10 payment's sale started before a restart; naming it");
            return self.name(payment, pos, earlier.reference).await;
        }
        let check_ins = self.check_ins_for(payment, pos).await?;
        let (payer, what) = match check_ins.as_slice() {
            [only] => (Payer::CheckIn { check_in: only.id.clone() }, format!("check-in:{}", only.id)),
            _ => (Payer::Qr, "qr".to_owned()),
        };
        self.start_as(payment, pos, payer, &what).await
    }

    async fn start_as(
        &self,
        payment: &V10PaymentRow,
        pos: &V10PosRow,
        payer: Payer,
        what: &str,
    ) -> Result<String, SaleError> {
        let (Some(amount), Some(currency)) = (payment.amount, payment.currency.as_deref()) else {
            return Err(SaleError::NothingToPay);
        };
        let currency = kasse_api::Currency::from_name(currency).ok_or(SaleError::NothingToPay)?;
        let new = NewSale {
            amount: Money::new(amount, currency),
            description: payment.label.clone().filter(|l| (3..=100).contains(&l.chars().count())),
            lines: Vec::new(),
            payer,
            loyalty: false,
        };
        let order = PosOrder { integrator_id: &payment.integrator_id, order_id: Some(&payment.order_id) };
        let key = sale_key(&payment.payment_id, what);
        let sale = match self.sales.start_for(&pos.till_id, new, Some(&key), Some(order)).await {
            Ok(sale) => sale,
            Err(SaleError::Pending(sale)) => *sale,
            Err(e) => return Err(e),
        };
        tracing::info!(payment = %payment.payment_id, reference = %sale.reference, till = %pos.till_id, "v10 payment started");
        self.name(payment, pos, sale.reference).await
    }

    /// Names `reference` as the sale of `payment`, just started, in place of the one the payment
    /// named as it was read (none, or the QR sale a move replaces); withdrawn if its PoS cancelled
    /// the payment meanwhile. Returns it.
    async fn name(
        &self,
        payment: &V10PaymentRow,
        pos: &V10PosRow,
        reference: String,
    ) -> Result<String, SaleError> {
        let replacing = payment.reference.as_deref();
        match self.store.name_v10_sale(&payment.payment_id, &reference, replacing).await? {
            Some(false) => {}
            Some(true) => {
                // Its PoS cancelled the payment while this sale started: the sale is withdrawn,
                // now or by the next rounds (see `withdraw`).
                tracing::info!(payment = %payment.payment_id, %reference, "a v10 payment cancelled while its sale started; withdrawing the sale");
                let named = V10PaymentRow { reference: Some(reference.clone()), ..payment.clone() };
                if let Err(e) = self.withdraw(&named, pos).await {
                    tracing::warn!(payment = %payment.payment_id, error = %e, "could not withdraw the sale yet; will try again");
                }
            }
            None => {
                // The payment names another sale: a round that read it before it was named got
                // here late, and this sale is most likely the push of a move begun since, which
                // the move names itself (the same key, so the same sale). Left alone: a lagging
                // round cannot tell that from a stray, and cancelling the move's push would end
                // the payment unpaid. (A true stray is rare, its till taken by the named one,
                // and runs out with the platform's expiry.)
                tracing::info!(payment = %payment.payment_id, %reference, "the v10 payment names another sale now; not naming this one");
            }
        }
        Ok(reference)
    }

    /// The check-ins at the till's sticker that may pay `payment`: every open one, or with
    /// `requirePaymentBeforeCheckin` only those made after the payment was (a customer who checked
    /// in earlier was there for something else, and may have gone).
    async fn check_ins_for(
        &self,
        payment: &V10PaymentRow,
        pos: &V10PosRow,
    ) -> Result<Vec<kasse_api::CheckIn>, SaleError> {
        let mut check_ins = self.sales.open_check_ins(&pos.till_id).await?;
        if pos.require_payment_before_checkin {
            check_ins.retain(|c| c.at_ms >= payment.created_at);
        }
        Ok(check_ins)
    }

    /// Looks at payments in play every second until `shutdown`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.store.v10_payments_in_play().await {
                Ok(payments) => {
                    for payment in payments {
                        if let Err(e) = self.settle(&payment).await {
                            tracing::warn!(payment = %payment.payment_id, error = %e, "a v10 payment could not be moved on");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read v10 payments"),
            }
            tokio::select! {
                () = tokio::time::sleep(LOOK_EVERY) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// The open sale of a payment its PoS cancelled (it started as the PoS gave up on it),
    /// withdrawn as the PoS was told: its request cancelled, or, if its customer approved
    /// meanwhile, the approval released. Asked each round until the sale is final; each step
    /// under a key of its own, so asking again repeats nothing.
    async fn withdraw(&self, payment: &V10PaymentRow, pos: &V10PosRow) -> Result<(), SaleError> {
        let Some(reference) = &payment.reference else { return Ok(()) };
        let Some(sale) = self.store.payment(reference).await? else { return Ok(()) };
        let step = match sale.status() {
            // The PoS's own cancel's key: a cancel it already made is that one.
            SaleStatus::Creating | SaleStatus::AwaitingCustomer => "cancel",
            SaleStatus::Authorized => "release",
            // Final, or a cancel on its way, which the reconciler finishes.
            _ => return Ok(()),
        };
        let key = sale_key(&payment.payment_id, step);
        match self.sales.cancel(&pos.till_id, reference, Some(&key)).await {
            // Approved meanwhile: released by the next round.
            Ok(_) | Err(SaleError::Pending(_) | SaleError::AlreadyApproved) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Moves one payment on, as far as it can go now.
    async fn settle(&self, payment: &V10PaymentRow) -> Result<(), SaleError> {
        let Some(pos) = self.store.v10_pos(&payment.pos_id).await? else { return Ok(()) };
        if payment.cancelled_at.is_some() {
            return self.withdraw(payment, &pos).await;
        }
        let sale = match &payment.reference {
            Some(reference) => self.store.payment(reference).await?,
            None => None,
        };
        let Some(sale) = sale else {
            if payment.amount.is_some() {
                self.start(payment, &pos).await?;
            }
            return Ok(());
        };
        let id = &payment.payment_id;
        match (&payment.pairing_check_in, sale.status()) {
            (None, SaleStatus::Creating | SaleStatus::AwaitingCustomer) if sale.flow == Flow::Qr => {
                let check_ins = self.check_ins_for(payment, &pos).await?;
                let [only] = check_ins.as_slice() else { return Ok(()) };
                tracing::info!(payment = %id, check_in = %only.id, "a customer checked in: the v10 payment moves to them");
                if !self.store.set_v10_sale(id, Some(&sale.reference), Some(&only.id)).await? {
                    return Ok(()); // Cancelled by its PoS meanwhile.
                }
                let moving = V10PaymentRow { pairing_check_in: Some(only.id.clone()), ..payment.clone() };
                Box::pin(self.settle(&moving)).await
            }
            (Some(_), SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling) => {
                // A cancel on its way, unanswered: the reconciler sends it again, backing off,
                // where asking it again here each second would call a platform that is not
                // answering every second (and use up its five writes a minute on the payment).
                // One refused (the customer approving at that moment) is asked again here.
                if sale.status() == SaleStatus::Cancelling
                    && self.sales.cancel_on_its_way(&sale.reference).await?
                {
                    return Ok(());
                }
                match self.sales.cancel(&pos.till_id, &sale.reference, Some(&sale_key(id, "move"))).await {
                    Ok(_) | Err(SaleError::Pending(_)) => Ok(()),
                    // Paid by QR after all: it stays so.
                    Err(SaleError::AlreadyApproved) => self
                        .store
                        .set_v10_sale(id, Some(&sale.reference), None)
                        .await
                        .map(drop)
                        .map_err(Into::into),
                    Err(e) => Err(e),
                }
            }
            (Some(check_in), SaleStatus::Cancelled) => {
                let payer = Payer::CheckIn { check_in: check_in.clone() };
                match self.start_as(payment, &pos, payer, &format!("check-in:{check_in}")).await {
                    Ok(_) => Ok(()),
                    // The check-in lapsed or was charged meanwhile: the QR code again.
                    Err(SaleError::CheckInGone) => self
                        .start_as(payment, &pos, Payer::Qr, &format!("qr-after:{check_in}"))
                        .await
                        .map(drop),
                    Err(e) => Err(e),
                }
            }
            (Some(_), _) => {
                self.store.set_v10_sale(id, Some(&sale.reference), None).await.map(drop).map_err(Into::into)
            }
            (None, _) => Ok(()),
        }
    }
}
