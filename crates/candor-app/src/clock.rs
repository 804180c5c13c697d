//! Where `now` comes from. Use cases take `now` as an argument; only the edges read a clock.

use candor_domain::time::Timestamp;

/// The system clock, or a fixed instant in tests.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(self) -> Timestamp {
        match self {
            Clock::System => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                Timestamp::from_millis(ms)
            }
            Clock::Fixed(t) => t,
        }
    }
}
