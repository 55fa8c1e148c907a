//! The accounts area's share of an export (promise P8): the profile, the addresses and pending
//! mailed links, and the invites given and used; and what it never exports.

use crate::platform::portable::{
    field, FieldType::*, RecordKind, Withheld,
};

pub const EXPORTS: &[RecordKind] = &[
    RecordKind {
        file: "account/profile.json",
        title: "Profile",
        about: "Your account: the address you sign in with, your name, and the counters that slow down guessing.",
        tables: &["accounts"],
        from: "FROM accounts WHERE owner_id = $1",
        order_by: "created_at",
        fields: &[
            field("email", "email", Text, "The address you sign in with and receive mail at."),
            field("email_verified_at", "email_verified_at", OptionalTime, "When you confirmed the address (null: not yet)."),
            field("display_name", "display_name", Text, "The name the site greets you with."),
            field("created_at", "created_at", Time, "When the account was made."),
            field("password_changed_at", "password_changed_at", Time, "When the password was last set."),
            field("failed_sign_ins", "failed_sign_ins", Integer, "Wrong passwords since the last sign-in."),
            field("last_failed_sign_in_at", "last_failed_sign_in_at", OptionalTime, "When the last wrong password was given."),
            field("failed_second_factors", "failed_second_factors", Integer, "Wrong second-step codes since the last sign-in."),
            field("last_failed_second_factor_at", "last_failed_second_factor_at", OptionalTime, "When the last wrong code was given."),
        ],
        documents: None,
    },
    RecordKind {
        file: "account/addresses.json",
        title: "Addresses",
        about: "Your sign-in address, and addresses you asked to change to that wait for confirmation.",
        tables: &["accounts", "account_tokens"],
        from: "FROM (SELECT email, 'current' AS status, created_at AS since FROM accounts WHERE owner_id = $1 \
               UNION ALL SELECT new_email, CASE WHEN used_at IS NULL THEN 'waiting for confirmation' ELSE 'confirmed' END, created_at \
               FROM account_tokens WHERE owner_id = $1 AND new_email IS NOT NULL) AS addresses",
        order_by: "since, email",
        fields: &[
            field("email", "email", Text, "The address."),
            field("status", "status", Text, "current, waiting for confirmation, or confirmed (a change made)."),
            field("since", "since", Time, "When the account was made with it, or the change was asked for."),
        ],
        documents: None,
    },
    RecordKind {
        file: "account/mailed_links.json",
        title: "Mailed links",
        about: "Links the site mailed you (address confirmation, password reset, address change, undo), without the secret in them.",
        tables: &["account_tokens"],
        from: "FROM account_tokens WHERE owner_id = $1",
        order_by: "created_at",
        fields: &[
            field("purpose", "purpose", Text, "What the link was for."),
            field("new_email", "new_email", OptionalText, "For an address change: the new address."),
            field("created_at", "created_at", Time, "When it was mailed."),
            field("expires_at", "expires_at", Time, "When it stops working."),
            field("used_at", "used_at", OptionalTime, "When it was used (null: never)."),
        ],
        documents: None,
    },
    RecordKind {
        file: "account/invites.json",
        title: "Invites",
        about: "The invite codes you created (with who used them, as your invites page shows) and the one you signed up with.",
        tables: &["invites"],
        from: "FROM custodian_export_invites($1)",
        order_by: "created_at, relation",
        fields: &[
            field("relation", "relation", Text, "created (by you) or used to sign up (by you)."),
            field("created_at", "created_at", Time, "When the invite was created."),
            field("expires_at", "expires_at", Time, "When it expires."),
            field("used_at", "used_at", OptionalTime, "When it was used (null: not yet)."),
            field("used_by_email", "used_by_email", OptionalText, "For an invite you created: the address that signed up with it."),
        ],
        documents: None,
    },
];

pub const WITHHELD: &[Withheld] = &[
    Withheld {
        table: "accounts",
        what: "Password hash",
        reason: "A secret: an Argon2id digest of your password, useless to you and valuable to an attacker.",
    },
    Withheld {
        table: "account_tokens",
        what: "The secret in each mailed link",
        reason: "A secret: only its SHA-256 digest is kept, and a link still valid must not travel in an archive.",
    },
    Withheld {
        table: "email_directory",
        what: "Your address in the sign-in directory",
        reason: "The same address as in account/profile.json, kept to find your account when you sign in.",
    },
    Withheld {
        table: "invites",
        what: "Who invited you",
        reason: "The inviter's account is another person's data, and no page shows it to you either (the addresses that used your invites are in account/invites.json, as your invites page shows them).",
    },
];
