//! The command line. This is a public contract that scripts depend on: change it only
//! compatibly (new flags and commands, never renamed ones).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "askara-inbox", version, about = "Askara Inbox: clinical notes from Askara, reviewed and imported", long_about = None)]
pub struct Cli {
    /// Where the inbox, settings and sign-in live (default: the OS data dir).
    #[arg(long, global = true, env = "ASKARA_INBOX_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The inbox to work in: sqlite: (the local one in the data dir, the default),
    /// sqlite:DIR/inbox.sqlite3, or postgres://user@host:5432/database?sslmode=... for a
    /// clinic's shared inbox (password from the OS keyring or PGPASSWORD; set it up once with
    /// `inbox init`).
    #[arg(
        long = "inbox",
        global = true,
        env = "ASKARA_INBOX_URL",
        value_name = "URL"
    )]
    pub inbox: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll Askara for new and revised notes into the local inbox.
    Sync(SyncArgs),
    /// Sign in with the device code flow: prints a URL and a code, waits for approval.
    Login(ServerArgs),
    /// Forget the stored sign-in (with --erase, also this workstation's inbox and its key).
    Logout(LogoutArgs),
    /// Show or set how long imported and dismissed notes stay in the local inbox, or apply it now.
    Retention(RetentionArgs),
    /// List, search, show and triage notes in the local inbox.
    #[command(subcommand)]
    Notes(NotesCommand),
    /// Run the Askara simulator with synthetic notes (for demos and tests).
    Sim(SimArgs),
    /// Receive notes by webhook (and optionally poll as a safety net) until interrupted.
    Serve(ServeArgs),
    /// Register, list and delete Askara webhooks for this organization.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Check the inbox's tamper-evident audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Set up a clinic's shared inbox on PostgreSQL (`--inbox postgres://...`).
    #[command(subcommand)]
    Inbox(InboxCommand),
}

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Create or upgrade the clinic's shared inbox at --inbox postgres://... (its schema, the
    /// group roles askara_inbox_staff and askara_inbox_poller, their grants). Run it once, as
    /// a role that may create schemas and roles; then grant each staff login
    /// askara_inbox_staff and the login `sync` / `serve` run as askara_inbox_poller. Safe to
    /// run again.
    Init,
    /// Keep the password of --inbox postgres://... in the OS keyring, where every command and
    /// the desktop find it (instead of PGPASSWORD). Reads one line from standard input, e.g.
    /// `read -rs PW; printf '%s' "$PW" | askara-inbox --inbox URL inbox password; unset PW`; the
    /// server must accept it first.
    Password,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit trail's hash chain: exit 0 with the row count and the head hash
    /// (record it: a later full rewrite shows as a different head), or one line naming the
    /// first broken row.
    Verify,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServerArgs {
    /// Askara API base URL (remembered), e.g. https://api.askara.ai
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// OAuth2 client id (remembered).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Also erase this workstation's copy: the local inbox, its key and the sign-in. Imported
    /// notes stay in the practice database; the rest is fetched again after a new sign-in.
    #[arg(long)]
    pub erase: bool,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Keep imported and dismissed notes this many days (1-3650; saved in the settings).
    #[arg(long, value_name = "DAYS")]
    pub days: Option<u32>,
    /// Remove what is older now (`sync` and `serve` also do it on start and daily).
    #[arg(long)]
    pub apply: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// One full catch-up, then exit.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Seconds between polls (Askara recommends 30-60).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// List notes, newest first.
    List {
        #[arg(long, value_name = "S")]
        status: Option<String>,
        #[arg(long, value_name = "UUID")]
        patient: Option<String>,
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Search note content and patient names (accents and case ignored), newest first.
    Search {
        query: String,
        #[arg(long, value_name = "UUID")]
        patient: Option<String>,
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show one note.
    Show {
        uuid: String,
        #[arg(long)]
        json: bool,
    },
    /// A note's audit trail, oldest first: when, who, what (received, read, status changes,
    /// imports) and the detail (never note content).
    History {
        uuid: String,
        #[arg(long)]
        json: bool,
    },
    /// Mark a note reviewed.
    Review { uuid: String },
    /// Dismiss a note.
    Dismiss { uuid: String },
    /// Import notes into the practice database (SQLite file or PostgreSQL), exactly once.
    Import(ImportArgs),
    /// Notes that need a patient: none, a partial one, or (with a mapping) none matched in
    /// the practice database at their last import; not imported, dismissed or assigned yet.
    Unmatched {
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Assign a note to a patient of the practice database, found by the mapping's
    /// [patient_search] (audited; the import writes this patient's id).
    Assign(AssignArgs),
    /// Undo a note's patient assignment (possible until the note is imported).
    Unassign { uuid: String },
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    pub uuid: String,
    /// The practice database's own patient id.
    #[arg(long, value_name = "ID")]
    pub patient: String,
    /// What to search for to find that patient (default: the id itself).
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// The practice database (default: the importTarget setting).
    #[arg(long, value_name = "TARGET")]
    pub to: Option<String>,
    /// The mapping with [patient_search] (default: the mappingFile setting).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// Narrowing `notes list` and `notes search`. Dates are read (and refused in one line) by
/// `inbox::DateBound`, not by clap, so a bad one is exit 2 with one line like other usage errors.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Created on or after: YYYY-MM-DD (a local day) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Created on or before: YYYY-MM-DD (the whole local day) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Only notes of this type, as Askara names it (e.g. consultation_summary).
    #[arg(long = "type", value_name = "TYPE")]
    pub note_type: Option<String>,
    /// Only notes recorded by this Askara user id.
    #[arg(long, value_name = "USER")]
    pub author: Option<String>,
    /// Only notes that need a patient (as `notes unmatched` lists them).
    #[arg(long)]
    pub needs_patient: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The note to import (or use --all-reviewed).
    #[arg(
        required_unless_present = "all_reviewed",
        conflicts_with = "all_reviewed"
    )]
    pub uuid: Option<String>,
    /// Import every note marked reviewed.
    #[arg(long)]
    pub all_reviewed: bool,
    /// `sqlite:PATH` or `postgres://user@host:port/db?sslmode=...` (password from PGPASSWORD).
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// TOML mapping onto an existing practice table.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Overwrite a note that was revised in Askara after it was imported.
    #[arg(long)]
    pub update: bool,
    /// Show the row that would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765", value_name = "ADDR")]
    pub listen: String,
    /// Synthetic notes to start with.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub notes: usize,
    /// Add a new synthetic note every SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub every: Option<f64>,
    /// Approve device sign-ins at once, without the verification page.
    #[arg(long)]
    pub auto_approve: bool,
    /// Seed for the synthetic notes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also add N notes created in one and the same second (now), more than a page holds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub burst: usize,
    /// Collection shape: hydra (hydra:member), jsonld (member) or plain (a bare JSON array).
    #[arg(long, value_enum, default_value_t = SimFormat::Hydra)]
    pub format: SimFormat,
    /// Short for --format plain.
    #[arg(long, conflicts_with = "format")]
    pub plain: bool,
    /// Most notes on one page, whatever itemsPerPage asks (Askara documents 100).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub page_cap: usize,
    /// Ignore itemsPerPage: every page holds --default-page-size notes.
    #[arg(long)]
    pub ignore_items_per_page: bool,
    /// Page size when itemsPerPage is absent or ignored (default 20, or API Platform's 30 with
    /// --ignore-items-per-page).
    #[arg(long, value_name = "N")]
    pub default_page_size: Option<usize>,
    /// Ignore `page`: every page is the first (a broken server clients must detect).
    #[arg(long)]
    pub ignore_page: bool,
    /// Leave totalItems and the last-page link out of Hydra/JSON-LD collections.
    #[arg(long)]
    pub no_totals: bool,
    /// Ignore createdAt[...] and updatedAt[...] filters.
    #[arg(long)]
    pub ignore_date_filters: bool,
    /// Write timestamps with this UTC offset, e.g. +02:00 or -05:30.
    #[arg(
        long,
        value_name = "OFFSET",
        default_value = "+00:00",
        allow_hyphen_values = true
    )]
    pub utc_offset: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimFormat {
    Hydra,
    Jsonld,
    Plain,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8088 behind a TLS reverse proxy (port 0: any free).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Accept deliveries only at POST /askara/webhook/S (S is part of the URL you register).
    #[arg(
        long,
        value_name = "S",
        env = "ASKARA_INBOX_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub webhook_secret: Option<String>,
    /// Also poll Askara (credentials as for `sync`), more slowly while deliveries flow.
    #[arg(long)]
    pub poll: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    /// With --poll: seconds between polls while no deliveries arrive (default: as for sync).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u64>,
    /// With --poll: seconds between polls while deliveries flow.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub reconcile_interval: u64,
    /// Store deliveries but do not process them (for tests of crash recovery).
    #[arg(long, hide = true)]
    pub hold_queue: bool,
    /// With no Askara credentials: store payloads as delivered, marked UNVERIFIED (without
    /// this, deliveries nobody can confirm with Askara are rejected).
    #[arg(long)]
    pub trust_payloads: bool,
    /// Pending deliveries beyond which new ones get 503 (Askara retries).
    #[arg(long, value_name = "N", default_value_t = 250_000)]
    pub max_pending: u64,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Register URL with Askara for new notes.
    Register {
        /// The public HTTPS URL of `askara-inbox serve` (behind its reverse proxy).
        #[arg(long, value_name = "URL")]
        url: String,
        /// Events to receive (repeat or separate with commas).
        #[arg(
            long = "events",
            value_name = "EVENT",
            value_delimiter = ',',
            default_value = "new_note"
        )]
        events: Vec<String>,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        json: bool,
    },
    /// List the organization's webhooks.
    List {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete a webhook by id.
    Delete {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        json: bool,
    },
}
