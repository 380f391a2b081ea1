//! `sim`: the Askara simulator, so a new user sees the product work without an Askara account.

use crate::args::{SimArgs, SimFormat};
use crate::error::CliError;
use askara_sim::{CollectionFormat, SimConfig, SimHandle};
use std::time::Duration;

pub async fn run(args: SimArgs) -> Result<(), CliError> {
    let addr: std::net::SocketAddr = args.listen.parse().map_err(|_| {
        CliError::usage(format!(
            "--listen `{}` is not an address like 127.0.0.1:8765",
            args.listen
        ))
    })?;
    let cfg = config(&args)?;
    let sim = SimHandle::start_on(cfg.clone(), addr).await.map_err(|e| {
        CliError::io(format!(
            "cannot listen on {addr}: {e}; pick another --listen"
        ))
    })?;
    sim.add_generated(args.notes, args.seed);
    if args.burst > 0 {
        let now = chrono::Utc::now();
        let second = now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()));
        sim.add_generated_at(args.burst, args.seed + 2, second);
    }
    let generator = match args.every {
        Some(secs) if secs > 0.0 => {
            Some(sim.spawn_generator(Duration::from_secs_f64(secs), args.seed + 1))
        }
        Some(_) => return Err(CliError::usage("--every must be more than 0 seconds")),
        None => None,
    };
    let base = sim.base_url();
    println!(
        "Askara simulator listening on {base} with {} synthetic notes",
        args.notes + args.burst
    );
    println!("  client id:     {}", cfg.client_id);
    println!("  client secret: {}   (simulator only)", cfg.client_secret);
    println!("Try:");
    println!(
        "  ASKARA_CLIENT_SECRET={} askara-inbox sync --once --base-url {base} --client-id {}",
        cfg.client_secret, cfg.client_id
    );
    println!(
        "  askara-inbox login --base-url {base} --client-id {}   (approve at {base}/device)",
        cfg.client_id
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::io(e.to_string()))?;
    if let Some(g) = generator {
        g.abort();
    }
    sim.shutdown().await;
    Ok(())
}

/// `+02:00`, `-0530`, `Z` as minutes east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

fn config(args: &SimArgs) -> Result<SimConfig, CliError> {
    if args.page_cap == 0 {
        return Err(CliError::usage("--page-cap must be at least 1"));
    }
    if args.default_page_size == Some(0) {
        return Err(CliError::usage("--default-page-size must be at least 1"));
    }
    let utc_offset_minutes = parse_offset(&args.utc_offset).ok_or_else(|| {
        CliError::usage(format!(
            "--utc-offset `{}` is not an offset like +02:00 or -05:30",
            args.utc_offset
        ))
    })?;
    let format = if args.plain {
        SimFormat::Plain
    } else {
        args.format
    };
    let defaults = SimConfig::default();
    Ok(SimConfig {
        device_auto_approve: args.auto_approve,
        collection_format: match format {
            SimFormat::Hydra => CollectionFormat::Hydra,
            SimFormat::Jsonld => CollectionFormat::JsonLd,
            SimFormat::Plain => CollectionFormat::Plain,
        },
        max_items_per_page: args.page_cap,
        honour_items_per_page: !args.ignore_items_per_page,
        default_items_per_page: args
            .default_page_size
            .unwrap_or(if args.ignore_items_per_page {
                30
            } else {
                defaults.default_items_per_page
            }),
        honour_page: !args.ignore_page,
        include_totals: !args.no_totals,
        honour_created_filter: !args.ignore_date_filters,
        honour_updated_filter: !args.ignore_date_filters,
        utc_offset_minutes,
        ..defaults
    })
}

#[cfg(test)]
mod tests {
    use super::parse_offset;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+02:00"), Some(120));
        assert_eq!(parse_offset("-0530"), Some(-330));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("02:00"), None);
        assert_eq!(parse_offset("+25:00"), None);
    }
}
