//! The closed sets the store keeps as names (a sale's status, flow and currency, the platform's
//! state, a write's kind and status, a sticker's kind), and how a row's name becomes its value
//! again. A name nobody knows is a decoding error that says which column held what: never a
//! default such as "an unknown currency is NOK".

use super::backend::StoreRow;
use kasse_api::{Currency, Flow, SaleStatus};
use kasse_vipps::epayment::State;

/// A closed set of values stored by name.
pub trait Named: Sized + Copy + 'static {
    /// What the values are, for error messages.
    const WHAT: &'static str;
    /// Its stored name.
    fn name(self) -> &'static str;
    /// The value named `name`, if there is one.
    fn from_name(name: &str) -> Option<Self>;
}

/// The value in `column` of `row`.
pub fn decode<T: Named>(row: &impl StoreRow, column: &str) -> Result<T, sqlx::Error> {
    let name: String = row.read(column)?;
    T::from_name(&name).ok_or_else(|| unknown::<T>(column, &name))
}

/// The value in `column` of `row`, which may be NULL.
pub fn decode_optional<T: Named>(row: &impl StoreRow, column: &str) -> Result<Option<T>, sqlx::Error> {
    let name: Option<String> = row.read(column)?;
    name.map(|name| T::from_name(&name).ok_or_else(|| unknown::<T>(column, &name))).transpose()
}

fn unknown<T: Named>(column: &str, name: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("{name:?} is no {} kasse knows", T::WHAT).into(),
    }
}

impl Named for SaleStatus {
    const WHAT: &'static str = "sale status";
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn from_name(name: &str) -> Option<Self> {
        Self::parse(name)
    }
}

impl Named for Flow {
    const WHAT: &'static str = "flow";
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn from_name(name: &str) -> Option<Self> {
        Self::parse(name)
    }
}

impl Named for Currency {
    const WHAT: &'static str = "currency";
    fn name(self) -> &'static str {
        self.code()
    }
    fn from_name(name: &str) -> Option<Self> {
        Self::from_code(name)
    }
}

impl Named for State {
    const WHAT: &'static str = "platform payment state";
    fn name(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Aborted => "ABORTED",
            Self::Expired => "EXPIRED",
            Self::Authorized => "AUTHORIZED",
            Self::Terminated => "TERMINATED",
        }
    }
    fn from_name(name: &str) -> Option<Self> {
        [Self::Created, Self::Aborted, Self::Expired, Self::Authorized, Self::Terminated]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Named + PartialEq + std::fmt::Debug>(all: &[T]) {
        for value in all {
            assert_eq!(T::from_name(value.name()), Some(*value), "{}", T::WHAT);
        }
        let names: std::collections::HashSet<_> = all.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), all.len(), "every {} has its own name", T::WHAT);
    }

    #[test]
    fn every_stored_value_reads_back_as_itself() {
        use crate::store::{CallbackQrKind, OperationKind, OperationStatus};
        use SaleStatus as S;
        round_trips(&[
            S::Creating,
            S::AwaitingCustomer,
            S::Authorized,
            S::Captured,
            S::Refunded,
            S::Cancelling,
            S::Declined,
            S::Expired,
            S::Cancelled,
            S::Failed,
        ]);
        round_trips(&[
            Flow::Qr,
            Flow::AppSwitch,
            Flow::PersonalQr,
            Flow::Phone,
            Flow::CheckIn,
            Flow::Sticker,
        ]);
        round_trips(&[Currency::Nok, Currency::Dkk, Currency::Eur]);
        round_trips(&[State::Created, State::Aborted, State::Expired, State::Authorized, State::Terminated]);
        round_trips(&[
            OperationKind::Create,
            OperationKind::Capture,
            OperationKind::Cancel,
            OperationKind::Refund,
        ]);
        round_trips(&[OperationStatus::Pending, OperationStatus::Done, OperationStatus::Failed]);
        round_trips(&[CallbackQrKind::Beacon, CallbackQrKind::Callback]);
    }

    #[test]
    fn a_name_nobody_knows_is_no_value() {
        assert_eq!(Currency::from_name("SEK"), None);
        assert_eq!(SaleStatus::from_name(""), None);
    }
}
