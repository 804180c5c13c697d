//! Frequency caps: at most so many messages per rolling window, per channel across all
//! campaigns, and optionally per campaign.
//!
//! This is the pure check. Exact caps under concurrency are the server's job: it reserves a
//! cap slot in the same database transaction that records the delivery.

use std::fmt;

use candor_domain::policy::Channel;
use candor_domain::time::Timestamp;

use crate::rule::{Window, in_window};

/// At most `max` messages per rolling `window`. A `max` of 0 means never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cap {
    /// Messages allowed per window.
    pub max: u32,
    /// The rolling window.
    pub window: Window,
}

impl Cap {
    /// A cap of `max` per `window`.
    pub fn new(max: u32, window: Window) -> Cap {
        Cap { max, window }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} per {}", self.max, self.window)
    }
}

/// Global caps per channel, across all campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCaps {
    /// Email.
    pub email: Cap,
    /// SMS.
    pub sms: Cap,
    /// Push notifications.
    pub push: Cap,
    /// On-site messages.
    pub web: Cap,
}

impl Default for FrequencyCaps {
    /// Email 2 per 7 days, SMS 1 per 7 days, push 1 per day, web 5 per day: the point past
    /// which marketing reads as pestering.
    fn default() -> FrequencyCaps {
        FrequencyCaps {
            email: Cap::new(2, Window::days(7)),
            sms: Cap::new(1, Window::days(7)),
            push: Cap::new(1, Window::days(1)),
            web: Cap::new(5, Window::days(1)),
        }
    }
}

impl FrequencyCaps {
    /// The cap for a channel.
    pub fn for_channel(&self, channel: Channel) -> Cap {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
            Channel::Web => self.web,
        }
    }
}

/// A person's recent deliveries, as the server loads them for one decision. Each list must be
/// sorted oldest first and need only reach back as far as the longest cap window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryHistory<'a> {
    /// Deliveries on each channel across all campaigns, indexed like [`Channel::ALL`].
    pub by_channel: [&'a [Timestamp]; 4],
    /// Deliveries of the campaign being decided, on any channel.
    pub this_campaign: &'a [Timestamp],
}

impl<'a> DeliveryHistory<'a> {
    /// The deliveries on one channel.
    pub fn channel(&self, channel: Channel) -> &'a [Timestamp] {
        self.by_channel[channel_index(channel)]
    }
}

/// The position of a channel in [`Channel::ALL`].
pub fn channel_index(channel: Channel) -> usize {
    match channel {
        Channel::Email => 0,
        Channel::Sms => 1,
        Channel::Push => 2,
        Channel::Web => 3,
    }
}

/// Which cap was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapScope {
    /// The global cap of a channel.
    Channel(Channel),
    /// The campaign's own cap.
    Campaign,
}

/// A cap that another message would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapHit {
    /// Which cap.
    pub scope: CapScope,
    /// The cap.
    pub cap: Cap,
    /// Messages already inside the window.
    pub count: u32,
    /// When the next message would fit, if the history stays as it is.
    pub next_allowed_at: Option<Timestamp>,
}

impl fmt::Display for CapHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            CapScope::Channel(c) => write!(
                f,
                "you already had {} {} message(s) in the last {}, and we send at most {}",
                self.count,
                c.as_str(),
                self.cap.window,
                self.cap.max
            ),
            CapScope::Campaign => write!(
                f,
                "you already had {} message(s) from this campaign in the last {}, and it sends at most {}",
                self.count, self.cap.window, self.cap.max
            ),
        }
    }
}

/// Checks one more message on `channel` fits both the channel's global cap and, when given,
/// the campaign's own cap.
pub fn cap_allows(
    history: &DeliveryHistory<'_>,
    channel: Channel,
    caps: &FrequencyCaps,
    campaign_cap: Option<Cap>,
    now: Timestamp,
) -> Result<(), CapHit> {
    check_one(
        history.channel(channel),
        caps.for_channel(channel),
        CapScope::Channel(channel),
        now,
    )?;
    if let Some(cap) = campaign_cap {
        check_one(history.this_campaign, cap, CapScope::Campaign, now)?;
    }
    Ok(())
}

fn check_one(sent: &[Timestamp], cap: Cap, scope: CapScope, now: Timestamp) -> Result<(), CapHit> {
    debug_assert!(
        sent.is_sorted(),
        "delivery history must be sorted oldest first"
    );
    // Sorted oldest first, so the deliveries inside the window are a suffix.
    let first_inside = sent.partition_point(|t| !in_window(*t, cap.window, now) && *t <= now);
    let inside = &sent[first_inside..];
    let count = inside.iter().filter(|t| **t <= now).count();
    if (count as u64) < u64::from(cap.max) {
        return Ok(());
    }
    // The window must lose `count - max + 1` deliveries before one more fits; the oldest of
    // those leaves it first.
    let next_allowed_at = (cap.max > 0).then(|| {
        let leaving = inside[count - cap.max as usize];
        leaving.plus_millis(cap.window.as_millis())
    });
    Err(CapHit {
        scope,
        cap,
        count: u32::try_from(count).unwrap_or(u32::MAX),
        next_allowed_at,
    })
}
