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
pub fn ordered_par_map<I, T, R, E, F, C>(
    pool: &rayon::ThreadPool,
    items: I,
    max_in_flight: usize,
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
    let max_in_flight = max_in_flight.max(1);
    let mut items = items.into_iter();
    let map = &map;
    pool.in_place_scope(|scope| {
        // Workers send (sequence, result); the receiver reorders them in `pending`.
        let (tx, rx) = mpsc::channel::<(u64, std::thread::Result<R>)>();
        let mut pending: BTreeMap<u64, std::thread::Result<R>> = BTreeMap::new();
        let mut sent: u64 = 0;
        let mut next: u64 = 0;
        let mut input_done = false;
        loop {
            while !input_done && sent - next < max_in_flight as u64 {
                match items.next() {
                    None => input_done = true,
                    Some(Err(e)) => return Err(e),
                    Some(Ok(item)) => {
                        let tx = tx.clone();
                        let seq = sent;
                        scope.spawn(move |_| {
                            let out = panic::catch_unwind(AssertUnwindSafe(|| map(item)));
                            // The receiver is gone only when the run already failed.
                            let _ = tx.send((seq, out));
                        });
                        sent += 1;
                    }
                }
            }
            if next == sent {
                return Ok(());
            }
            let Ok((seq, out)) = rx.recv() else {
                return Ok(());
            };
            pending.insert(seq, out);
            while let Some(out) = pending.remove(&next) {
                next += 1;
                match out {
                    Ok(r) => consume(r)?,
                    Err(p) => panic::resume_unwind(p),
                }
            }
        }
    })
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
