//! The checked value types of the deploy description: each is validated as the file is read, so
//! an error names the key and says what is allowed.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A duration written the way people write them: `90s`, `5m`, `1m30s`, `2h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget(pub Duration);

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Budget, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map(Budget).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::ui::fmt_duration(self.0))
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "`{text}` is not a duration: write numbers followed by h, m or s, e.g. \"90s\", \"5m\" or \"1m30s\""
        )
    };
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let value: u64 = number.parse().map_err(|_| invalid())?;
        total = value.checked_mul(unit).and_then(|secs| total.checked_add(secs)).ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// Defines a string newtype whose values are checked when the file is read, so an error names
/// the key (serde adds "in `services.api.port`") and says what is allowed.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = String::deserialize(deserializer)?;
                let check: fn(&str) -> Result<(), String> = $check;
                check(&text).map_err(serde::de::Error::custom)?;
                Ok($name(text))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

checked_string!(
    /// A Kubernetes object name (DNS-1123 label): lowercase letters, digits and `-`.
    Name,
    |text| {
        let ok = !text.is_empty()
            && text.len() <= 53
            && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{text}` is not a valid name: use 1 to 53 lowercase letters, digits and `-`, not starting or ending with `-`"
            ))
        }
    }
);

checked_string!(
    /// An absolute URL path or file path: `/healthz`, `/api`, `/data`.
    UrlPath,
    |text| {
        if text.starts_with('/') && !text.contains(char::is_whitespace) {
            Ok(())
        } else {
            Err(format!("`{text}` is not an absolute path: write it starting with `/`, e.g. \"/healthz\""))
        }
    }
);

checked_string!(
    /// An environment variable name: `JWT_SECRET`.
    EnvKey,
    |text| {
        let ok = text.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(())
        } else {
            Err(format!("`{text}` is not an environment variable name: use A-Z, 0-9 and `_`, e.g. \"RUST_LOG\""))
        }
    }
);

checked_string!(
    /// An image repository without tag or digest: `todo-api`, `postgres`, `bitnami/redis`.
    ImageName,
    |text| {
        let ok = !text.is_empty()
            && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{text}` is not an image repository: lowercase letters, digits, `-_./`, without a tag (tags are set separately)"
            ))
        }
    }
);

checked_string!(
    /// A fixed image tag: never `latest`, which would make every pod start a guess.
    ImageTag,
    |text| {
        if text == "latest" {
            return Err("`latest` is not allowed: pin a version, e.g. \"17.6-alpine\"".to_owned());
        }
        let ok = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if ok { Ok(()) } else { Err(format!("`{text}` is not an image tag: letters, digits and `-_.`")) }
    }
);

checked_string!(
    /// A CPU quantity: `200m` or `0.5`.
    Cpu,
    |text| {
        let millis = text.strip_suffix('m').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let cores = !text.is_empty()
            && text.chars().all(|c| c.is_ascii_digit() || c == '.')
            && text.parse::<f64>().is_ok_and(|v| v > 0.0);
        if millis || cores {
            Ok(())
        } else {
            Err(format!("`{text}` is not a CPU quantity: write millicores like \"200m\" or cores like \"0.5\""))
        }
    }
);

checked_string!(
    /// A memory or storage quantity in binary units: `256Mi`, `1Gi`.
    Memory,
    |text| {
        let ok = ["Ki", "Mi", "Gi", "Ti"].iter().any(|unit| {
            text.strip_suffix(unit).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
        if ok {
            Ok(())
        } else {
            Err(format!("`{text}` is not a quantity in binary units: write e.g. \"256Mi\" or \"1Gi\""))
        }
    }
);

checked_string!(
    /// An IPv4 or IPv6 address block: `169.254.20.10/32`, `fd00::10/128`.
    Cidr,
    |text| {
        let ok = text.split_once('/').is_some_and(|(address, bits)| {
            let max = match address.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(_)) => 32,
                Ok(std::net::IpAddr::V6(_)) => 128,
                Err(_) => return false,
            };
            !bits.starts_with('+') && bits.parse::<u8>().is_ok_and(|bits| bits <= max)
        });
        if ok {
            Ok(())
        } else {
            Err(format!("`{text}` is not an address block: write an address and a prefix length, e.g. \"169.254.20.10/32\""))
        }
    }
);

checked_string!(
    /// A checkov check id: `CKV_K8S_15`, `CKV2_K8S_6`.
    CheckId,
    |text| {
        let ok = text.starts_with("CKV") && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok { Ok(()) } else { Err(format!("`{text}` is not a checkov check id, e.g. \"CKV_K8S_15\"")) }
    }
);

checked_string!(
    /// Why a finding is accepted: a sentence a reviewer can judge.
    Reason,
    |text| {
        if text.trim().len() >= 20 {
            Ok(())
        } else {
            Err(format!("`{text}` is too short to be a reason: say why this check does not apply (20 characters or more)"))
        }
    }
);

/// Defines an integer newtype with an allowed range.
macro_rules! checked_int {
    ($(#[$doc:meta])* $name:ident($int:ty), $range:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(pub $int);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let value = i64::deserialize(deserializer)?;
                let range = $range;
                match <$int>::try_from(value) {
                    Ok(v) if range.contains(&v) => Ok($name(v)),
                    _ => Err(serde::de::Error::custom(format!(
                        "{value} is not allowed: {} must be from {} to {}",
                        $what,
                        range.start(),
                        range.end()
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

checked_int!(
    /// A TCP port a container listens on; unprivileged, since nothing runs as root.
    Port(u16),
    1024..=65535,
    "a port (unprivileged: containers do not run as root)"
);
checked_int!(Replicas(u16), 1..=100, "a replica count");
checked_int!(
    /// A user or group id for the pods: at least 10000, so it never maps to a host user (checkov
    /// CKV_K8S_40, kube-score); the images run as 10001.
    NonRootId(u32),
    10000..=2_147_483_647,
    "a user or group id (high, so it maps to no user of the node)"
);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// What a benchmark figure must reach, written as people write it: `"<= 300ms"`, `">= 3000/s"`,
/// `"<= 30MB"`, `">= 50%"`, `"<= 0"` (a count). `≤` and `≥` work too.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goal {
    pub bound: Bound,
    /// In the quantity's base unit: seconds, per second, megabytes (10^6 bytes), percent, a count.
    pub value: f64,
    pub quantity: Quantity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    AtMost,
    AtLeast,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    Time,
    Rate,
    Size,
    Percent,
    Count,
}

impl Goal {
    pub fn met_by(&self, value: f64) -> bool {
        match self.bound {
            Bound::AtMost => value <= self.value,
            Bound::AtLeast => value >= self.value,
        }
    }
}

impl std::str::FromStr for Goal {
    type Err = String;

    fn from_str(text: &str) -> Result<Goal, String> {
        let invalid = || {
            format!(
                "`{text}` is not a goal: write <= or >= and a number with its unit, e.g. \"<= 300ms\", \
                 \"<= 4m\", \">= 3000/s\", \"<= 30MB\", \">= 50%\" or \"<= 0\" for a count"
            )
        };
        let text = text.trim();
        let (bound, rest) = if let Some(rest) = text.strip_prefix("<=").or_else(|| text.strip_prefix('≤')) {
            (Bound::AtMost, rest)
        } else if let Some(rest) = text.strip_prefix(">=").or_else(|| text.strip_prefix('≥')) {
            (Bound::AtLeast, rest)
        } else {
            return Err(invalid());
        };
        let rest = rest.trim();
        let split =
            rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '_' | ','))).unwrap_or(rest.len());
        let (number, unit) = rest.split_at(split);
        let number: f64 = number.replace(['_', ','], "").parse().map_err(|_| invalid())?;
        let (quantity, scale) = match unit.trim() {
            "ms" => (Quantity::Time, 0.001),
            "s" => (Quantity::Time, 1.0),
            "m" | "min" => (Quantity::Time, 60.0),
            "/s" | "req/s" => (Quantity::Rate, 1.0),
            "MB" => (Quantity::Size, 1.0),
            "%" => (Quantity::Percent, 1.0),
            "" => (Quantity::Count, 1.0),
            _ => return Err(invalid()),
        };
        Ok(Goal { bound, value: number * scale, quantity })
    }
}

impl<'de> Deserialize<'de> for Goal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Goal, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}
