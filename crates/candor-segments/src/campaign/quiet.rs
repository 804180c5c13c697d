//! Quiet hours in the person's own time zone.

use std::fmt;

use candor_domain::policy::Channel;
use candor_domain::time::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

use super::caps::channel_index;

/// A set of channels, as a bit set so that snapshots stay small and copyable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChannelSet(u8);

impl ChannelSet {
    /// No channel.
    pub const EMPTY: ChannelSet = ChannelSet(0);

    /// The set of the given channels.
    pub fn of(channels: &[Channel]) -> ChannelSet {
        channels.iter().fold(ChannelSet::EMPTY, |s, c| s.with(*c))
    }

    /// This set plus one channel.
    pub fn with(self, channel: Channel) -> ChannelSet {
        ChannelSet(self.0 | 1 << channel_index(channel))
    }

    /// Whether the channel is in the set.
    pub fn contains(self, channel: Channel) -> bool {
        self.0 & (1 << channel_index(channel)) != 0
    }
}

/// Hours in which no message goes out, in the person's local time. `start > end` wraps past
/// midnight (21:00–08:00); `start == end` means no quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Local time the quiet starts (inclusive).
    pub start: Time,
    /// Local time the quiet ends (exclusive).
    pub end: Time,
    /// The channels it applies to.
    pub channels: ChannelSet,
}

impl Default for QuietHours {
    /// 21:00 to 08:00 for email, SMS and push. On-site (web) messages are left out: they are
    /// shown only while the person is on the site, so they cannot wake anyone.
    fn default() -> QuietHours {
        QuietHours {
            start: Time::constant(21, 0, 0, 0),
            end: Time::constant(8, 0, 0, 0),
            channels: ChannelSet::of(&[Channel::Email, Channel::Sms, Channel::Push]),
        }
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.strftime("%H:%M"),
            self.end.strftime("%H:%M")
        )
    }
}

impl QuietHours {
    /// No quiet hours.
    pub fn none() -> QuietHours {
        QuietHours {
            start: Time::midnight(),
            end: Time::midnight(),
            channels: ChannelSet::EMPTY,
        }
    }

    /// The person's local time when `now` falls in their quiet hours on `channel`, else `None`.
    ///
    /// Local time comes from the time zone's own rules, so daylight-saving changes move the
    /// quiet hours with the person's clock. An instant outside the range time zones can express
    /// counts as quiet: not sending is the safe answer to an impossible clock.
    pub fn quiet_at(&self, channel: Channel, tz: &TimeZone, now: Timestamp) -> Option<Time> {
        if !self.channels.contains(channel) || self.start == self.end {
            return None;
        }
        let Ok(ts) = jiff::Timestamp::from_millisecond(now.as_millis()) else {
            return Some(Time::midnight());
        };
        let local = tz.to_datetime(ts).time();
        let quiet = if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        };
        quiet.then_some(local)
    }
}
