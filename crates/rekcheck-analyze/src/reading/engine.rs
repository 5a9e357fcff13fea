//! The parallel, ordered core: blocks go to rayon, results come back in block order.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;

/// Runs `map` over `items` on `pool`, and hands the results to `consume` in input order.
///
/// At most `max_in_flight` items are being mapped or waiting to be consumed at any time, so memory
/// stays bounded however long the input is. Items are pulled from `items` on the calling thread,
/// which must not be a worker of `pool`. The first error from `items` or `consume` stops the run
/// (work already started is finished and dropped) and is returned.
#[cfg(test)]
pub(crate) fn ordered_par_map<I, T, R, E, F, C>(
    pool: &rayon::ThreadPool,
    items: I,
    max_in_flight: usize,
    map: F,
    consume: C,
) -> Result<(), E>
where
    I: IntoIterator<Item = Result<T, E>>,
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
    C: FnMut(R) -> Result<(), E>,
{
    let budget = Budget {
        items: max_in_flight,
        bytes: usize::MAX,
    };
    ordered_par_map_within(pool, items, budget, |_| 0, |_| 0, map, consume)
}

/// How much may be in flight in [`ordered_par_map_within`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Most items being mapped or waiting to be consumed.
    pub(crate) items: usize,
    /// Most bytes (as the weight functions count them) being mapped or waiting to be consumed;
    /// one item is always let through, however heavy.
    pub(crate) bytes: usize,
}

/// [`ordered_par_map`] bounded by bytes as well as by items: an item weighs `weigh_item` until
/// its result arrives, then its result weighs `weigh_result` until it is consumed. So memory is
/// bounded by the budget (plus one item), not by the thread count times the heaviest item.
pub(crate) fn ordered_par_map_within<I, T, R, E, F, C>(
    pool: &rayon::ThreadPool,
    items: I,
    budget: Budget,
    weigh_item: impl Fn(&T) -> usize,
    weigh_result: impl Fn(&R) -> usize,
    map: F,
    mut consume: C,
) -> Result<(), E>
where
    I: IntoIterator<Item = Result<T, E>>,
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
    C: FnMut(R) -> Result<(), E>,
{
    let max_items = budget.items.max(1) as u64;
    let mut items = items.into_iter();
    let map = &map;
    pool.in_place_scope(|scope| {
        // Workers send (sequence, result); the receiver reorders them in `pending`.
        let (tx, rx) = mpsc::channel::<(u64, std::thread::Result<R>)>();
        let mut pending: BTreeMap<u64, (usize, std::thread::Result<R>)> = BTreeMap::new();
        // The weight of each item sent and not yet back, by sequence.
        let mut weights: BTreeMap<u64, usize> = BTreeMap::new();
        let mut held: Option<T> = None;
        let mut bytes: usize = 0;
        let mut sent: u64 = 0;
        let mut next: u64 = 0;
        let mut input_done = false;
        loop {
            while sent - next < max_items {
                let item = match held.take() {
                    Some(item) => item,
                    None if input_done => break,
                    None => match items.next() {
                        None => {
                            input_done = true;
                            break;
                        }
                        Some(Err(e)) => return Err(e),
                        Some(Ok(item)) => item,
                    },
                };
                let weight = weigh_item(&item);
                if sent > next && bytes.saturating_add(weight) > budget.bytes {
                    held = Some(item);
                    break;
                }
                bytes = bytes.saturating_add(weight);
                weights.insert(sent, weight);
                let tx = tx.clone();
                let seq = sent;
                scope.spawn(move |_| {
                    let out = panic::catch_unwind(AssertUnwindSafe(|| map(item)));
                    // The receiver is gone only when the run already failed.
                    let _ = tx.send((seq, out));
                });
                sent += 1;
            }
            if next == sent {
                return Ok(());
            }
            let Ok((seq, out)) = rx.recv() else {
                return Ok(());
            };
            let weight = match &out {
                Ok(r) => weigh_result(r),
                Err(_) => 0,
            };
            bytes = bytes
                .saturating_sub(weights.remove(&seq).unwrap_or(0))
                .saturating_add(weight);
            pending.insert(seq, (weight, out));
            while let Some((weight, out)) = pending.remove(&next) {
                next += 1;
                bytes = bytes.saturating_sub(weight);
                match out {
                    Ok(r) => consume(r)?,
                    Err(p) => panic::resume_unwind(p),
                }
            }
        }
    })
}

/// The analysis threads: `threads`, or one per core for 0.
pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, crate::error::Error> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        threads
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rekcheck-analyze-{i}"))
        .build()
        .map_err(|e| crate::error::Error::Threads {
            threads,
            source: Box::new(e),
        })
}

pub(crate) fn in_flight(pool: &rayon::ThreadPool) -> usize {
    pool.current_num_threads() * 2 + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_whatever_the_thread_count() {
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut got = Vec::new();
            let input = (0..200u64).map(Ok::<u64, ()>);
            ordered_par_map(
                &pool,
                input,
                3,
                |x| {
                    // Uneven work so that results finish out of order.
                    std::thread::sleep(std::time::Duration::from_micros((x * 7919) % 300));
                    x * 2
                },
                |r| {
                    got.push(r);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(got, (0..200).map(|x| x * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn bytes_in_flight_stay_within_the_budget_whatever_the_thread_count() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in [1, 2, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            // Items and results weigh 10 bytes; at most 25 bytes: two at a time.
            let in_flight = AtomicUsize::new(0);
            let mut most = 0;
            let input = (0..100u64).map(|x| {
                in_flight.fetch_add(10, Ordering::SeqCst);
                Ok::<u64, ()>(x)
            });
            let mut got = Vec::new();
            ordered_par_map_within(
                &pool,
                input,
                Budget {
                    items: 64,
                    bytes: 25,
                },
                |_| 10,
                |_| 10,
                |x| {
                    std::thread::sleep(std::time::Duration::from_micros((x * 7919) % 300));
                    x
                },
                |x| {
                    most = most.max(in_flight.load(Ordering::SeqCst));
                    in_flight.fetch_sub(10, Ordering::SeqCst);
                    got.push(x);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(got, (0..100).collect::<Vec<_>>());
            // Two items in flight, and the one pulled and held back (counted by the test when
            // pulled): never the 64 the item count allows.
            assert!(most <= 30, "{threads} threads: {most} bytes");
        }
        // One item heavier than the whole budget still goes through, alone.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mut got = Vec::new();
        let budget = Budget { items: 8, bytes: 1 };
        ordered_par_map_within(
            &pool,
            (0..5u64).map(Ok::<u64, ()>),
            budget,
            |_| 100,
            |_| 100,
            |x| x,
            |x| {
                got.push(x);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn errors_stop_the_run() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let input = (0..10u64).map(|x| if x == 5 { Err("bad input") } else { Ok(x) });
        let mut got = Vec::new();
        let r = ordered_par_map(
            &pool,
            input,
            2,
            |x| x,
            |x| {
                got.push(x);
                Ok(())
            },
        );
        assert_eq!(r, Err("bad input"));
        assert!(got.iter().all(|&x| x < 5));
        let r = ordered_par_map(
            &pool,
            (0..10u64).map(Ok),
            2,
            |x| x,
            |x| {
                if x == 3 { Err("sink full") } else { Ok(()) }
            },
        );
        assert_eq!(r, Err("sink full"));
    }
}
