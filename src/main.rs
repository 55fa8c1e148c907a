//! The custodian binary: the web server and the operator's commands.

use std::process::ExitCode;

use app::platform::{config::Settings, ids::OwnerId, region::Region};
use clap::{Parser, Subcommand};
use custodian::cli;
use tracing_subscriber::EnvFilter;

// Server-side rendering allocates many small, short-lived strings and nodes; glibc's malloc spent
// about a sixth of a signed-in page's CPU time on them (perf, under bench/run.sh's load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "custodian",
    version,
    about = "Custodian: the account, security and privacy center.",
    long_about = "Custodian: the account, security and privacy center. With no subcommand it serves \
                  the site. Every setting can also come from the environment variable shown."
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site (the default): creates and migrates the database if needed.
    Serve,
    /// Create the database if missing, apply migrations, and exit.
    Migrate,
    /// Manage invite codes, which are required to sign up.
    Invite {
        #[command(subcommand)]
        action: InviteAction,
    },
    /// Manage the versioned policies (privacy, cookies, terms, subprocessors).
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Check the security logs.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Write one account's data export (the archive the Your data page builds) to a file, to
    /// answer an access request.
    Export {
        /// The account's address.
        #[arg(long)]
        email: String,
        /// Where to write the zip archive.
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Encrypted backups of every database, kept no longer than the deletion promise allows.
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Account deletions: the jobs that remind and purge.
    Deletion {
        #[command(subcommand)]
        action: DeletionAction,
    },
    /// Operate on one account's data as a whole.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Rights requests (correction, restriction, objection, access): list, show and answer
    /// them; each action is mailed to the person and written to their security log.
    Requests {
        #[command(subcommand)]
        action: RequestsAction,
    },
    /// Product news by mail: only to accounts that asked for it and are not restricted.
    News {
        #[command(subcommand)]
        action: NewsAction,
    },
    /// The retention schedule: run its sweep now (the server runs it daily).
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
    /// The key hierarchy: rotate an account's data key, or the key that wraps every data key.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Rotate one account's data key: a new key, and everything the account keeps sealed (its
    /// authenticator secret, its apps' secrets) sealed again with it, in one transaction.
    RotateDataKey {
        /// The account's address.
        #[arg(long)]
        email: String,
    },
    /// Wrap every tenant's data key with a new key (one transaction per database) and install
    /// it as the wrapping key; stop the server first. Make the key file with:
    /// head -c 32 /dev/urandom | base64 > FILE && chmod 600 FILE
    RotateKek {
        /// The new key: base64 of 32 random bytes, readable by its owner only.
        #[arg(long, value_name = "FILE")]
        new_key_file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum RequestsAction {
    /// Every right of every request, soonest due first.
    List {
        /// Only open rights past their due date.
        #[arg(long)]
        overdue: bool,
    },
    /// One request: what was asked, each right's status and due date.
    Show { id: uuid::Uuid },
    /// Extend a right's due date (once, before its first period ends), with the reason.
    Extend {
        id: uuid::Uuid,
        /// correction, restriction, objection, access or opt_out.
        right: String,
        #[arg(long)]
        reason: String,
    },
    /// Mark a right done (or partly done, with what could not be done and why).
    Complete {
        id: uuid::Uuid,
        right: String,
        /// Partly done: what could not be done, and why.
        #[arg(long, value_name = "REASON")]
        partly: Option<String>,
    },
    /// Refuse a right, with the reason the person is told.
    Refuse {
        id: uuid::Uuid,
        right: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum NewsAction {
    /// Queue a message to every account that may get product news.
    Send {
        #[arg(long)]
        subject: String,
        /// The message, plain text.
        #[arg(long, value_name = "FILE")]
        body_file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum RetentionAction {
    /// Remove now what the schedule says is due, as the server does daily.
    Sweep,
}

#[derive(Subcommand)]
enum DeletionAction {
    /// Run the reminders and purges due at a time (and the mail they send), as the server does
    /// when that time comes: an earlier time purges accounts before their grace period ends.
    RunDue {
        /// The time, like 2026-12-31T00:00:00Z.
        #[arg(long, value_parser = parse_time)]
        as_of: time::OffsetDateTime,
    },
}

fn parse_time(value: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("{value:?} is not a time like 2026-12-31T00:00:00Z"))
}

#[derive(Subcommand)]
enum BackupAction {
    /// Write an encrypted pg_dump of each database into DATA_DIR/backups.
    Create,
    /// Delete backups older than BACKUP_RETENTION_DAYS.
    Prune,
    /// Restore a backup over its database, after purging again every account deleted since it
    /// was taken. Stop the server first.
    Restore {
        /// The backup file.
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        /// Restore into this database instead of the one the backup was taken from.
        #[arg(long, value_name = "URL")]
        into: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantAction {
    /// Move an account's data to another region: freeze, copy, verify, switch, purge. Safe to
    /// run again after an interruption: it finishes the move under way.
    Move {
        /// The account's address.
        #[arg(long, required_unless_present = "tenant", conflicts_with = "tenant")]
        email: Option<String>,
        /// The account's id (as a move request names it).
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
        /// The region to move to: us-east or eu-west.
        #[arg(long, value_parser = parse_region)]
        to: Region,
    },
    /// List the moves people asked for from their Account page.
    Requests,
}

fn parse_region(value: &str) -> Result<Region, String> {
    Region::parse(value).ok_or_else(|| format!("{value:?} is not a region; use us-east or eu-west"))
}

#[derive(Subcommand)]
enum AuditAction {
    /// Verify the keyed hash chain and the signed checkpoints of every account's security log,
    /// or of one account's.
    Verify {
        /// The address of the one account to check.
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Subcommand)]
enum PolicyAction {
    /// Publish the next version of a policy from a Markdown file.
    Publish {
        /// Which policy: privacy, cookies, terms or subprocessors.
        #[arg(long)]
        document: String,
        /// The Markdown file with the new text.
        #[arg(long, value_name = "FILE")]
        file: std::path::PathBuf,
        /// One sentence on what changed, shown with the version.
        #[arg(long)]
        summary: String,
        /// A change that matters: signed-in people must review it, and every account is emailed.
        #[arg(long)]
        material: bool,
    },
}

#[derive(Subcommand)]
enum InviteAction {
    /// Create a single-use invite code and print it with its sign-up link.
    Create {
        /// Days until the code expires.
        #[arg(long, value_name = "DAYS", default_value_t = 7)]
        expires_in: u32,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => cli::serve::serve(cli.settings).await,
        Command::Migrate => cli::migrate(&cli.settings).await,
        Command::Invite {
            action: InviteAction::Create { expires_in },
        } => cli::invite::create(&cli.settings, expires_in).await,
        Command::Policy {
            action:
                PolicyAction::Publish {
                    document,
                    file,
                    summary,
                    material,
                },
        } => cli::policy::publish(&cli.settings, &document, &file, &summary, material).await,
        Command::Audit {
            action: AuditAction::Verify { email },
        } => cli::audit::verify(&cli.settings, email.as_deref()).await,
        Command::Tenant {
            action: TenantAction::Move { email, tenant, to },
        } => {
            let whom = match (email, tenant) {
                (Some(email), _) => cli::tenant::Whom::Email(email),
                (None, Some(id)) => cli::tenant::Whom::Tenant(OwnerId::from_uuid(id)),
                (None, None) => unreachable!("clap requires --email or --tenant"),
            };
            cli::tenant::move_tenant(&cli.settings, whom, to).await
        }
        Command::Deletion {
            action: DeletionAction::RunDue { as_of },
        } => cli::deletion::run_due(&cli.settings, as_of).await,
        Command::Backup { action } => match action {
            BackupAction::Create => cli::backup::create(&cli.settings).await,
            BackupAction::Prune => cli::backup::prune(&cli.settings).await,
            BackupAction::Restore { file, into } => {
                cli::backup::restore(&cli.settings, &file, into.as_deref()).await
            }
        },
        Command::Export { email, out } => cli::export::export(&cli.settings, &email, &out).await,
        Command::Keys {
            action: KeysAction::RotateDataKey { email },
        } => cli::key_rotation::rotate_data_key(&cli.settings, &email).await,
        Command::Keys {
            action: KeysAction::RotateKek { new_key_file },
        } => cli::key_rotation::rotate_kek(&cli.settings, &new_key_file).await,
        Command::Tenant {
            action: TenantAction::Requests,
        } => cli::tenant::list_requests(&cli.settings).await,
        Command::Requests { action } => {
            use app::data::rights::answer::Action;
            use cli::requests::Command as Do;

            let command = match action {
                RequestsAction::List { overdue } => Do::List { overdue },
                RequestsAction::Show { id } => Do::Show { id },
                RequestsAction::Extend { id, right, reason } => Do::Act {
                    id,
                    right,
                    action: Action::Extend { reason },
                },
                RequestsAction::Complete { id, right, partly } => Do::Act {
                    id,
                    right,
                    action: Action::Complete { partly },
                },
                RequestsAction::Refuse { id, right, reason } => Do::Act {
                    id,
                    right,
                    action: Action::Refuse { reason },
                },
            };
            cli::requests::run(&cli.settings, command).await
        }
        Command::News {
            action: NewsAction::Send { subject, body_file },
        } => match std::fs::read_to_string(&body_file) {
            Ok(body) => cli::requests::send_news(&cli.settings, &subject, &body).await,
            Err(source) => Err(cli::CliError::PolicyFile {
                path: body_file.display().to_string(),
                source,
            }),
        },
        Command::Retention {
            action: RetentionAction::Sweep,
        } => cli::requests::sweep(&cli.settings).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
