//! Open connections per peer: a count per client address (IPv4 address, IPv6 /64 prefix) with a guard that
//! gives the connection back when dropped, so one peer cannot hold every connection slot. It decides whether a
//! connection may be served; it does not accept, serve or answer. Entries exist only while a peer has a
//! connection open, so the map never holds more than `max_connections` entries.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Connections held per peer, at most `limit` each.
#[derive(Debug)]
pub struct PeerLimits {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PeerLimits {
    pub fn new(limit: usize) -> Arc<PeerLimits> {
        Arc::new(PeerLimits {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `ip`, or `None` when it already holds `limit`.
    pub fn try_open(self: &Arc<Self>, ip: IpAddr) -> Option<PeerSlot> {
        let key = peer_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(key).or_insert(0);
        if *n >= self.limit {
            if *n == 0 {
                open.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            key,
        })
    }

    /// Distinct peers with a connection open.
    pub fn peers(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn close(&self, key: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&key);
            }
        }
    }
}

/// One connection counted against its peer until dropped.
#[derive(Debug)]
pub struct PeerSlot {
    peers: Arc<PeerLimits>,
    key: IpAddr,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        self.peers.close(self.key);
    }
}

/// The address a limit applies to: IPv4 as it is (IPv4-mapped IPv6 too), IPv6 by its /64 prefix, since one
/// host can draw any number of addresses from its /64.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_holds_at_most_its_limit_and_slots_come_back() {
        let p = PeerLimits::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = p.try_open(a).unwrap();
        let _s2 = p.try_open(a).unwrap();
        assert!(p.try_open(a).is_none());
        let _other = p.try_open(b).unwrap();
        assert_eq!(p.peers(), 2);
        drop(s1);
        assert!(p.try_open(a).is_some());
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let p = PeerLimits::new(1);
        let _x = p.try_open("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(p.try_open("2001:db8:1:2::ffff".parse().unwrap()).is_none());
        assert!(p.try_open("2001:db8:1:3::1".parse().unwrap()).is_some());
        let _v4 = p.try_open("192.0.2.7".parse().unwrap()).unwrap();
        assert!(p.try_open("::ffff:192.0.2.7".parse().unwrap()).is_none());
    }

    #[test]
    fn a_zero_limit_keeps_no_entries() {
        let p = PeerLimits::new(0);
        assert!(p.try_open("10.0.0.1".parse().unwrap()).is_none());
        assert_eq!(p.peers(), 0);
    }
}
