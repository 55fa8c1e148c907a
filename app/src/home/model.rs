//! The home page's types: the service status, and the registry of promises (DESIGN §1), each
//! naming the tests that prove it. A promise with no named test is shown as one still to keep;
//! `tests/promises.rs` checks that every named test exists.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub database_reachable: bool,
    /// When the server checked, as HH:MM:SS UTC.
    pub checked_at: String,
}

/// A promise of DESIGN §1, in a line, with the tests that prove it: `"<file>::<test function>"`,
/// the file relative to the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Promise {
    pub id: &'static str,
    pub title: &'static str,
    pub detail: &'static str,
    pub proven_by: &'static [&'static str],
}

impl Promise {
    /// Kept: a test proves it (and the suite that ships a build passes every test).
    pub fn kept(&self) -> bool {
        !self.proven_by.is_empty()
    }
}

pub const PROMISES: &[Promise] = &[
    Promise {
        id: "P1",
        title: "No one else reads your rows",
        detail: "Every table is isolated per account by the database itself.",
        proven_by: &[
            "tests/platform/tenant_isolation.rs::every_tenant_table_is_protected_by_forced_rls",
            "tests/platform/tenant_isolation.rs::a_tenant_cannot_touch_another_tenants_rows_in_any_table",
            "tests/platform/app_role.rs::the_pool_logs_in_as_the_app_role_and_cannot_leave_it",
        ],
    },
    Promise {
        id: "P2",
        title: "Passwords are never stored",
        detail: "Only slow, salted argon2id hashes are kept.",
        proven_by: &[
            "app/src/auth/service/password.rs::hashes_are_argon2id_phc_strings_that_verify",
            "tests/server/log_hygiene.rs::no_password_token_or_code_reaches_the_logs_or_the_security_log",
            "tests/signin/throttling.rs::fifty_concurrent_wrong_passwords_are_all_counted_and_few_are_checked",
        ],
    },
    Promise {
        id: "P3",
        title: "A second factor protects you",
        detail: "Authenticator codes, backup codes and passkeys.",
        proven_by: &[
            "tests/mfa/totp.rs::sign_in_with_totp_accepts_a_code_once_within_one_step",
            "tests/mfa/totp.rs::backup_codes_work_once_and_a_new_set_replaces_the_old",
            "tests/signin/passkeys.rs::passkeys_register_sign_in_alone_and_refuse_clones_and_other_origins",
        ],
    },
    Promise {
        id: "P4",
        title: "Sessions end when they should",
        detail: "See every signed-in device and end any of them.",
        proven_by: &[
            "tests/auth/accounts.rs::sessions_rotate_at_sign_in_and_end_when_idle_or_too_old",
            "tests/signin/session_ending.rs::every_way_of_ending_a_session_ends_it_for_old_and_current_cookies",
        ],
    },
    Promise {
        id: "P5",
        title: "You see what happened",
        detail: "A tamper-evident security log of your account.",
        proven_by: &[
            "tests/platform/audit_chain.rs::the_audit_chain_verifies_and_breaks_when_edited_or_deleted",
            "tests/platform/audit_chain.rs::an_edit_rehashed_without_the_servers_key_is_detected",
        ],
    },
    Promise {
        id: "P6",
        title: "Consent is asked and honored",
        detail: "Cookie choices and Global Privacy Control, recorded.",
        proven_by: &[
            "tests/privacy/consent.rs::gpc_is_honored_recorded_once_per_version_and_wins_over_an_opt_in",
            "tests/privacy/receipts.rs::receipts_verify_and_any_change_is_detected",
        ],
    },
    Promise {
        id: "P7",
        title: "Policy changes are visible",
        detail: "Versioned policies; material changes are shown to you.",
        proven_by: &[
            "tests/privacy/policies.rs::a_material_change_asks_for_review_until_acknowledged_and_mails_everyone",
        ],
    },
    Promise {
        id: "P8",
        title: "Take everything and leave",
        detail: "Export every record, or delete the account for good.",
        proven_by: &[
            "tests/data/archive.rs::the_archive_holds_every_kind_of_record_and_the_manifest_matches_it",
            "tests/data/archive.rs::every_table_that_holds_a_tenants_data_is_exported_or_withheld_with_a_reason",
            "tests/data/deletion.rs::the_purge_erases_every_trace_and_the_receipt_verifies",
            "tests/data/deletion.rs::a_purge_killed_at_any_step_finishes_once",
            "tests/data/backups.rs::a_backup_restored_after_a_purge_holds_no_trace_of_the_account",
        ],
    },
    Promise {
        id: "P9",
        title: "Secrets stay secret",
        detail: "API keys are encrypted with your own data key.",
        proven_by: &[],
    },
    Promise {
        id: "P10",
        title: "Only you see your apps",
        detail: "Private by default; sharing and publishing are your choice.",
        proven_by: &[],
    },
    Promise {
        id: "P11",
        title: "Data stays in its region",
        detail: "US-East or EU-West, chosen at sign-up, kept in that region's database.",
        proven_by: &[
            "tests/platform/regions.rs::an_eu_tenant_leaves_nothing_outside_its_region_but_its_route",
            "tests/platform/regions.rs::a_region_that_is_down_fails_closed_and_the_other_goes_on",
            "tests/platform/region_moves.rs::a_move_copies_verifies_switches_and_purges_the_source",
        ],
    },
    Promise {
        id: "P12",
        title: "Sign-up is by invitation",
        detail: "Single-use invite codes; who invited whom is recorded.",
        proven_by: &[
            "tests/auth/accounts.rs::sign_up_redeems_the_invite_once_and_records_the_region",
            "tests/auth/enumeration.rs::sign_up_asks_for_the_invite_before_anything_else",
        ],
    },
    Promise {
        id: "P13",
        title: "No third party sees you",
        detail: "No outside scripts, fonts or cookies.",
        proven_by: &["tests/server/http.rs::pages_carry_the_security_headers_and_a_matching_nonce"],
    },
    Promise {
        id: "P14",
        title: "The transport is hardened",
        detail: "Strict security headers and cross-site request checks.",
        proven_by: &[
            "tests/server/http.rs::cross_site_state_changes_are_refused",
            "tests/server/http.rs::https_sites_send_hsts",
        ],
    },
    Promise {
        id: "P15",
        title: "Your rights are answered on time",
        detail: "Access, correction, restriction and objection, tracked to their due dates.",
        proven_by: &[
            "tests/data/rights.rs::each_right_is_due_as_its_law_counts_and_the_receipt_is_confirmed_by_mail",
            "tests/data/rights.rs::an_extension_comes_once_with_its_reason_and_only_inside_the_first_period",
            "tests/data/rights.rs::closing_every_right_signs_a_receipt_that_verifies_and_a_changed_one_does_not",
            "tests/privacy/account_wide.rs::an_open_correction_stops_analytics_and_product_news_until_it_closes",
            "tests/privacy/account_wide.rs::gpc_from_one_browser_applies_to_the_account_on_every_device",
            "tests/apps/discover.rs::publishing_waits_while_processing_is_restricted",
        ],
    },
    Promise {
        id: "P16",
        title: "Nothing is kept too long",
        detail: "One retention schedule, applied daily and shown on the Privacy page.",
        proven_by: &[
            "tests/data/retention.rs::the_sweep_removes_exactly_what_the_schedule_says_and_the_log_still_verifies",
            "tests/data/retention.rs::the_database_refuses_to_remove_anything_younger_than_the_schedule",
            "tests/data/retention.rs::the_privacy_page_shows_the_schedule_the_sweep_runs",
        ],
    },
];
