//! The `code` of a v10 error body. v10 numbered its errors (its "API Errors" page, beside
//! `pos.yaml` in MobilePay's PoS documentation), and integrations act on the numbers: on 1301
//! ("a payment is already active") a PoS finds and cancels the payment it lost track of, on 1000
//! ("point of sale not found") it creates its point of sale again. So kasse answers with v10's
//! number wherever v10 had one for the case, and with its own problem code where v10 had none
//! (a payment in a currency its store does not take, a beacon the platform would not link).

use kasse_api::ProblemCode;

/// An error code in a v10 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V10Code {
    /// 1000: the point of sale a payment names is not known (never made, or deleted).
    PosNotFound,
    /// 1001: the payment a refund names is not known.
    PaymentNotFound,
    /// 1002: the store a point of sale names is not known.
    StoreNotFound,
    /// 1099: a request v10 would not read, for no reason it numbered.
    BadRequest,
    /// 1102: an amount that is not one (not positive, or finer than a cent).
    InvalidAmount,
    /// 1111: a `merchantPosId` that names no till of the store.
    InvalidMerchantPosId,
    /// 1113: an `orderId` that is not 1 to 36 characters.
    InvalidOrderId,
    /// 1114: a `refundOrderId` that is not 1 to 36 characters.
    InvalidRefundOrderId,
    /// 1153: no `X-MobilePay-Client-System-Version` header.
    MissingClientSystemVersion,
    /// 1162: an `X-MobilePay-Idempotency-Key` that is not 1 to 100 visible characters.
    InvalidIdempotencyKey,
    /// 1164: no `X-MobilePay-Idempotency-Key` header.
    MissingIdempotencyKey,
    /// 1200: the till already has a point of sale.
    PosExists,
    /// 1202: the beacon already rings another till.
    BeaconTaken,
    /// 1300: the payment cannot be cancelled as it stands (captured, or ended already).
    NotCancellable,
    /// 1301: the point of sale already has an active payment.
    PaymentActive,
    /// 1303: the payment is not a prepared one waiting for its amount.
    NotPrepared,
    /// 1304: the payment is not reserved, so there is nothing to capture.
    NotReserved,
    /// 1305: more than the reservation holds.
    CaptureTooHigh,
    /// 1306: the idempotency key was used before for another request.
    KeyReused,
    /// 1307: the payment was captured already, with another amount.
    CapturedDifferently,
    /// 1351: the refund is not given back (yet, or at all), so it cannot be captured.
    RefundNotReserved,
    /// 1352: a refund cannot be cancelled.
    RefundNotCancellable,
    /// 1354: the payment is not captured, so nothing can be given back.
    NotCaptured,
    /// 1365: a refund in another currency than its payment's.
    RefundCurrency,
    /// 1367: more than the payment has left to give back.
    RefundTooHigh,
    /// 1400: a point of sale of another integrator or merchant.
    ForeignPos,
    /// 1401: a payment of another integrator or merchant.
    ForeignPayment,
    /// 2000: kasse could not do it now (its database away, say); the same request may be sent again.
    Internal,
    /// kasse's own code, where v10 had no number for the case.
    Kasse(ProblemCode),
}

impl V10Code {
    /// The code as the body spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PosNotFound => "1000",
            Self::PaymentNotFound => "1001",
            Self::StoreNotFound => "1002",
            Self::BadRequest => "1099",
            Self::InvalidAmount => "1102",
            Self::InvalidMerchantPosId => "1111",
            Self::InvalidOrderId => "1113",
            Self::InvalidRefundOrderId => "1114",
            Self::MissingClientSystemVersion => "1153",
            Self::InvalidIdempotencyKey => "1162",
            Self::MissingIdempotencyKey => "1164",
            Self::PosExists => "1200",
            Self::BeaconTaken => "1202",
            Self::NotCancellable => "1300",
            Self::PaymentActive => "1301",
            Self::NotPrepared => "1303",
            Self::NotReserved => "1304",
            Self::CaptureTooHigh => "1305",
            Self::KeyReused => "1306",
            Self::CapturedDifferently => "1307",
            Self::RefundNotReserved => "1351",
            Self::RefundNotCancellable => "1352",
            Self::NotCaptured => "1354",
            Self::RefundCurrency => "1365",
            Self::RefundTooHigh => "1367",
            Self::ForeignPos => "1400",
            Self::ForeignPayment => "1401",
            Self::Internal => "2000",
            Self::Kasse(code) => code.as_str(),
        }
    }

    /// The v10 code for kasse's problem `code`, answered with `status`: v10's number where the
    /// problem is one v10 numbered the same wherever it arises, kasse's code otherwise (the
    /// handlers name the cases whose number depends on the request).
    pub const fn of_problem(code: ProblemCode, status: u16) -> Self {
        match code {
            ProblemCode::KeyReused => Self::KeyReused,
            ProblemCode::TillBusy => Self::PaymentActive,
            ProblemCode::IdempotencyKeyRequired => Self::MissingIdempotencyKey,
            ProblemCode::BadIdempotencyKey => Self::InvalidIdempotencyKey,
            ProblemCode::BadRequestBody | ProblemCode::BadQuery | ProblemCode::TooLarge => Self::BadRequest,
            _ if status >= 500 => Self::Internal,
            other => Self::Kasse(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v10_s_numbers_are_its_own_and_each_names_one_case() {
        let numbered = [
            V10Code::PosNotFound,
            V10Code::PaymentNotFound,
            V10Code::StoreNotFound,
            V10Code::BadRequest,
            V10Code::InvalidAmount,
            V10Code::InvalidMerchantPosId,
            V10Code::InvalidOrderId,
            V10Code::InvalidRefundOrderId,
            V10Code::MissingClientSystemVersion,
            V10Code::InvalidIdempotencyKey,
            V10Code::MissingIdempotencyKey,
            V10Code::PosExists,
            V10Code::BeaconTaken,
            V10Code::NotCancellable,
            V10Code::PaymentActive,
            V10Code::NotPrepared,
            V10Code::NotReserved,
            V10Code::CaptureTooHigh,
            V10Code::KeyReused,
            V10Code::CapturedDifferently,
            V10Code::RefundNotReserved,
            V10Code::RefundNotCancellable,
            V10Code::NotCaptured,
            V10Code::RefundCurrency,
            V10Code::RefundTooHigh,
            V10Code::ForeignPos,
            V10Code::ForeignPayment,
            V10Code::Internal,
        ];
        let spelled: std::collections::BTreeSet<&str> = numbered.iter().map(|c| c.as_str()).collect();
        assert_eq!(spelled.len(), numbered.len(), "no two cases share a number");
        assert!(spelled.iter().all(|n| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit())), "{spelled:?}");
        assert_eq!(V10Code::of_problem(ProblemCode::TillBusy, 409).as_str(), "1301");
        assert_eq!(V10Code::of_problem(ProblemCode::Internal, 500).as_str(), "2000");
        assert_eq!(V10Code::of_problem(ProblemCode::WrongCurrency, 400).as_str(), "wrong-currency");
    }
}
