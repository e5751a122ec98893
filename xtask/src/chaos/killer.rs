//! The killer: SIGKILLs kasse-server at random moments, a few seconds apart, and starts it again
//! on the same data directory and port. With several instances it kills one of them at random
//! each time ([`victim`]), whichever gets the platform's webhooks included, and never the last
//! one alive: it starts the one it killed again before the next kill.
//!
//! Some kills come with the late-create fault: the simulator holds every create for a moment
//! before the kill (their senders are answered 504 and keep them pending), and the held creates
//! are delivered after the kill, while the server is down or once it is back, long after their
//! senders died. Half of those holds last past the restart, so the new run's resends are held
//! too and the tills show their sales "creating" long enough for impatient cashiers to cancel
//! them: the platform has no such payment yet, and then it arrives. A customer who saw such a
//! request on their phone approves some of them anyway: kasse has to cancel or release those,
//! never capture them.
//!
//! On PostgreSQL some of the waits between kills are cut in two by the database ending every
//! session of the instances ([`Shared::cut_connections`](super::database::Shared)), as a
//! failover or a pooler's restart does, while the instances stay up: a request working on a
//! payment goes on without that payment's lock, and another request, or the other instance, may
//! take the payment on meanwhile. Whatever the first then writes must not undo the second's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::platform::Knobs;
use super::processes::ServerProcess;
use super::rng::Rng;
use super::{MAX_INSTANCES, Shared};
use crate::error::{Error, Result};

/// What the killer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Kills {
    /// SIGKILLs sent to a running server.
    pub(crate) sent: usize,
    /// Of those, the ones each instance got.
    pub(crate) per_instance: [usize; MAX_INSTANCES],
    /// Server runs found stopped though nobody killed them (and started again): a crash.
    pub(crate) stopped_by_themselves: usize,
    /// Kills that came with creates held at the platform.
    pub(crate) with_held_creates: usize,
    /// Creates the platform received after their sender was killed.
    pub(crate) delivered_late: u64,
    /// Payments of cancelled sales a customer approved after their create landed late.
    pub(crate) approved_late: usize,
    /// Times the database ended every session of the instances (PostgreSQL only).
    pub(crate) cuts: usize,
}

/// The least time a server run is left up before it is killed.
const MINIMUM_LIFE: Duration = Duration::from_millis(300);

/// How many times a restart is tried before the run gives up on the server.
const RESTART_TRIES: usize = 3;

/// Kills one of `servers` (see [`victim`]) and restarts it, about every `every`, until `stop` is
/// set or the run's drive time is up, with `knobs` as the platform's faults in between. An error
/// when a server does not come back.
pub(crate) fn kill_repeatedly(
    servers: &mut [ServerProcess],
    shared: &Shared,
    every: Duration,
    knobs: Knobs,
    mut rng: Rng,
    stop: &AtomicBool,
) -> Result<Kills> {
    let mut done = Kills::default();
    let stopped = || stop.load(Ordering::SeqCst) || Instant::now() >= shared.drive_until || shared.over();
    // Kills are spaced from one kill to the next, whatever the holds and deliveries in between
    // take, so the rate is the one asked for; a run always gets a moment to work first.
    let mut last_kill = Instant::now();
    loop {
        let next = (last_kill + rng.between(every / 2, every * 3 / 2)).max(Instant::now() + MINIMUM_LIFE);
        // Every fourth kill, so every run has some, but not more: while creates are held no sale
        // gets anywhere, and each held copy of a create, once delivered, counts against the
        // platform's five writes a minute per payment. Every other hold lasts past the restart.
        let hold = done.sent % 4 == 1;
        let through_restart = hold && (done.sent / 4) % 2 == 0;
        if hold {
            // Long enough for a few tills to start a sale into the hold.
            let hold_for = rng.between(Duration::from_secs(1), Duration::from_secs(3));
            if !sleep_unless(
                next.saturating_duration_since(Instant::now()).saturating_sub(hold_for),
                &stopped,
            ) {
                return Ok(done);
            }
            shared.platform.set_faults(Knobs { hold_creates: true, ..knobs })?;
        }
        let until_kill = next.saturating_duration_since(Instant::now()).max(Duration::from_millis(500));
        // Every third wait without held creates, halfway: the instances' connections are cut.
        if let Some(database) = shared.database.as_ref().filter(|_| !hold && done.sent % 3 == 2) {
            if !sleep_unless(until_kill / 2, &stopped) {
                return Ok(done);
            }
            let ended = database.cut_connections()?;
            done.cuts += 1;
            shared.journal.note(format_args!("CUT {}: the database ended {ended} sessions", done.cuts));
        }
        let until_kill = next.saturating_duration_since(Instant::now()).max(Duration::from_millis(200));
        if !sleep_unless(until_kill, &stopped) {
            if hold {
                // The settling delivers what was held.
                shared.platform.set_faults(knobs)?;
            }
            return Ok(done);
        }
        done.stopped_by_themselves += revive(servers, shared)?;
        let alive: Vec<bool> = servers.iter_mut().map(ServerProcess::running).collect();
        let Some(chosen) = victim(&alive, &mut rng) else {
            // Cannot happen once `revive` has started every instance; never kill the last one.
            if hold {
                shared.platform.set_faults(knobs)?;
            }
            last_kill = Instant::now();
            continue;
        };
        let running = &mut servers[chosen];
        let run = running.runs();
        if running.kill() {
            done.sent += 1;
            if let Some(count) = done.per_instance.get_mut(chosen) {
                *count += 1;
            }
        }
        last_kill = Instant::now();
        let held = match (hold, through_restart) {
            (true, true) => ", creates held until after the restart",
            (true, false) => ", creates held",
            _ => "",
        };
        shared.journal.note(format_args!("KILL {} ({} run {run}){held}", done.sent, running.name()));
        thread::sleep(rng.between(Duration::ZERO, Duration::from_millis(800)));
        let mut delivered_now = false;
        if hold {
            done.with_held_creates += 1;
        }
        if hold && !through_restart {
            shared.platform.set_faults(knobs)?;
            if rng.chance(0.5) {
                // While the server is down: nobody is there for their webhooks either.
                done.delivered_late += deliver(shared, "while the server is down")?;
                delivered_now = true;
            }
        }
        restart(running, shared)?;
        if through_restart {
            // The cashiers see their sales stuck "creating", and some cancel them.
            thread::sleep(rng.between(Duration::from_millis(1_500), Duration::from_secs(5)));
            shared.platform.set_faults(knobs)?;
        }
        if hold {
            if !delivered_now {
                thread::sleep(rng.between(Duration::from_millis(200), Duration::from_secs(2)));
                done.delivered_late += deliver(shared, "after the restart")?;
            }
            done.approved_late += approve_withdrawn(shared, &mut rng, 0.6);
        }
    }
}

/// The instance to kill, given which are `alive`: one of the living at random; with several
/// instances, none when it would be the last one alive (a single instance is killed: it is the
/// single-instance run).
pub(crate) fn victim(alive: &[bool], rng: &mut Rng) -> Option<usize> {
    let living: Vec<usize> = (0..alive.len()).filter(|&number| alive[number]).collect();
    let spared = usize::from(alive.len() > 1);
    if living.len() <= spared {
        return None;
    }
    let pick = usize::try_from(rng.below(u64::try_from(living.len()).unwrap_or(u64::MAX))).unwrap_or(0);
    living.get(pick).copied()
}

/// Starts again every server that stopped though nobody killed it (noting it: that is a crash);
/// how many.
fn revive(servers: &mut [ServerProcess], shared: &Shared) -> Result<usize> {
    let mut revived = 0;
    for server in servers.iter_mut().filter(|server| server.started()) {
        if !server.running() {
            shared.journal.note(format_args!(
                "{} RUN {} STOPPED WITHOUT BEING KILLED: starting it again",
                server.name().to_uppercase(),
                server.runs()
            ));
            revived += 1;
            restart(server, shared)?;
        }
    }
    Ok(revived)
}

/// Starts the server again (a few tries); an error with its log's end if it will not.
pub(crate) fn restart(server: &mut ServerProcess, shared: &Shared) -> Result<()> {
    let mut last = None;
    for _ in 0..RESTART_TRIES {
        let started = Instant::now();
        match server.start() {
            Ok(()) => {
                shared.journal.note(format_args!(
                    "{} run {} up in {:.1?}",
                    server.name(),
                    server.runs(),
                    started.elapsed()
                ));
                return Ok(());
            }
            Err(error) => {
                shared.journal.note(format_args!(
                    "{} RUN {} DID NOT START: {error}",
                    server.name().to_uppercase(),
                    server.runs()
                ));
                last = Some(error);
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::new("the server could not be started")))
}

/// Delivers the held creates; how many.
fn deliver(shared: &Shared, when: &str) -> Result<u64> {
    let delivered = shared.platform.deliver_held()?;
    shared.journal.note(format_args!("delivered {delivered} held creates {when}"));
    Ok(delivered)
}

/// A customer approves, with probability `p` each, the payments of sales the cashier cancelled
/// while they were being created (those whose create has landed by now are approvable); how many
/// the platform took.
pub(crate) fn approve_withdrawn(shared: &Shared, rng: &mut Rng, p: f64) -> usize {
    let mut approved = 0;
    for sale in shared.take_withdrawn() {
        if !rng.chance(p) {
            continue;
        }
        // The platform's faults may refuse the first try or two.
        for _ in 0..3 {
            match shared.platform.force_approve(&sale.msn, &sale.reference, sale.customer) {
                Ok(answer) if answer.is_success() => {
                    shared
                        .journal
                        .note(format_args!("{}: approved late by {}", sale.reference, sale.customer));
                    shared.approved_late(&sale.reference);
                    approved += 1;
                    break;
                }
                Ok(answer) if answer.status < 500 && answer.status != 429 => {
                    // Not there (never landed) or no longer open (kasse cancelled it first).
                    shared.journal.note(format_args!(
                        "{}: not approvable late ({}): {}",
                        sale.reference,
                        answer.status,
                        answer.text()
                    ));
                    break;
                }
                _ => thread::sleep(Duration::from_millis(200)),
            }
        }
    }
    approved
}

/// Sleeps for `duration` in short steps; false (at once) when `stopped` says so.
fn sleep_unless(duration: Duration, stopped: &impl Fn() -> bool) -> bool {
    let until = Instant::now() + duration;
    while Instant::now() < until {
        if stopped() {
            return false;
        }
        thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
    }
    !stopped()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_killer_never_kills_the_last_living_instance() {
        let mut rng = Rng::new(3, "killer test");
        for _ in 0..200 {
            assert_eq!(victim(&[true, false], &mut rng), None);
            assert_eq!(victim(&[false, true], &mut rng), None);
            assert_eq!(victim(&[false, false], &mut rng), None);
        }
    }

    #[test]
    fn the_killer_kills_either_of_two_living_instances_at_random() {
        let mut rng = Rng::new(5, "killer test");
        let mut counts = [0_usize; 2];
        for _ in 0..400 {
            counts[victim(&[true, true], &mut rng).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&count| count > 100), "{counts:?}");
    }

    #[test]
    fn a_single_instance_is_killed_when_it_is_up() {
        let mut rng = Rng::new(7, "killer test");
        assert_eq!(victim(&[true], &mut rng), Some(0));
        assert_eq!(victim(&[false], &mut rng), None);
        assert_eq!(victim(&[], &mut rng), None);
    }
}
