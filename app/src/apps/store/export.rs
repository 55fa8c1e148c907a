//! What an export holds of a person's apps: each app's details, its files' list and the files
//! themselves under `apps/<app-id>/`, its share links (never a link's token or password) and
//! its secrets (never a value).

use crate::platform::portable::{field, FieldType::*, FileSet, RecordKind, Withheld};

pub const EXPORTS: &[RecordKind] = &[
    RecordKind {
        file: "apps/apps.json",
        title: "Apps",
        about: "Your apps, those in the trash included; each app's files are in apps/<app-id>/files/.",
        tables: &["apps"],
        from: "FROM apps WHERE owner_id = $1",
        order_by: "created_at, id",
        fields: &[
            field("id", "id::text", Text, "The app's id (its folder in this archive)."),
            field("name", "name", Text, "Its name."),
            field("description", "description", Text, "Its description."),
            field("connect_hosts", "to_json(connect_hosts)", TextList, "The hosts its scripts may connect to."),
            field("created_at", "created_at", Time, "When you made it."),
            field("updated_at", "updated_at", Time, "When it last changed."),
            field("trashed_at", "trashed_at", OptionalTime, "When you moved it to the trash."),
            field("purge_at", "purge_at", OptionalTime, "When it is deleted for good, if in the trash."),
            field("published_at", "published_at", OptionalTime, "Since when it is on Discover (null: not published)."),
            field("published_author", "published_author", OptionalText, "The author name Discover shows."),
            field("remix_allowed", "remix_allowed", Boolean, "Whether people may remix it from Discover."),
            field("remixed_from", "remixed_from", OptionalText, "The published app it is a remix of."),
        ],
        documents: None,
    },
    RecordKind {
        file: "apps/files.json",
        title: "App files",
        about: "Every file of your apps: its path, type, size and SHA-256; the files themselves are in apps/<app-id>/files/.",
        tables: &["app_files"],
        from: "FROM app_files WHERE owner_id = $1",
        order_by: "app_id, path",
        fields: &[
            field("app_id", "app_id::text", Text, "The app it belongs to."),
            field("path", "path", Text, "Its path in the app."),
            field("content_type", "content_type", Text, "The type it is served with."),
            field("size_bytes", "size_bytes", Integer, "Its size in bytes."),
            field("sha256", "encode(sha256(content), 'hex')", Text, "The SHA-256 of its content."),
            field("updated_at", "updated_at", Time, "When it last changed."),
        ],
        documents: None,
    },
    RecordKind {
        file: "apps/share_links.json",
        title: "Share links",
        about: "The links you made to share your apps, with how they were used.",
        tables: &["app_share_links"],
        from: "FROM app_share_links WHERE owner_id = $1",
        order_by: "created_at, id",
        fields: &[
            field("id", "id::text", Text, "The link's id."),
            field("app_id", "app_id::text", Text, "The app it opens."),
            field("label", "label", Text, "Its label."),
            field("password", "password_hash IS NOT NULL", Boolean, "Whether it asks for a password."),
            field("created_at", "created_at", Time, "When you made it."),
            field("expires_at", "expires_at", OptionalTime, "When it stops working."),
            field("revoked_at", "revoked_at", OptionalTime, "When you revoked it."),
            field("uses", "uses", Integer, "How many times it was opened."),
            field("last_used_at", "last_used_at", OptionalTime, "When it was last opened."),
            field("last_used_network", "last_used_network", OptionalText, "The network it was last opened from."),
        ],
        documents: None,
    },
    RecordKind {
        file: "apps/people.json",
        title: "People you shared apps with",
        about: "The addresses you invited to your apps, with their roles and whether they joined.",
        tables: &["app_members"],
        from: "FROM app_members WHERE owner_id = $1",
        order_by: "app_id, email",
        fields: &[
            field("app_id", "app_id::text", Text, "The app."),
            field("email", "email", Text, "The address you invited."),
            field("role", "role", Text, "viewer or editor."),
            field("invited_at", "invited_at", Time, "When you last sent the invitation."),
            field("invitation_expires_at", "invite_expires_at", Time, "When the invitation stops working."),
            field("joined_at", "accepted_at", OptionalTime, "When they accepted (null: not yet)."),
        ],
        documents: None,
    },
    RecordKind {
        file: "apps/shared_with_me.json",
        title: "Apps shared with you",
        about: "Other people's apps you joined (in your region's database), with your role; the apps themselves are theirs.",
        tables: &["app_members"],
        from: "FROM app_members WHERE member_id = $1",
        order_by: "accepted_at, app_id",
        fields: &[
            field("app_id", "app_id::text", Text, "The app."),
            field("role", "role", Text, "viewer or editor."),
            field("joined_at", "accepted_at", OptionalTime, "When you accepted."),
        ],
        documents: None,
    },
    RecordKind {
        file: "apps/publications.json",
        title: "Publications to Discover",
        about: "Each time you published an app or took it down; the signed receipts are in apps/<app-id>/publications/.",
        tables: &["app_publications"],
        from: "FROM app_publications WHERE owner_id = $1",
        order_by: "at, id",
        fields: &[
            field("id", "id::text", Text, "The receipt's id."),
            field("app_id", "app_id::text", Text, "The app."),
            field("action", "action", Text, "published or unpublished."),
            field("at", "at", Time, "When."),
        ],
        documents: None,
    },
    RecordKind {
        file: "apps/secrets.json",
        title: "App secrets",
        about: "The secrets attached to your apps: their names, hosts and dates. Their values are never exported: nobody can read one back, you included.",
        tables: &["app_secrets"],
        from: "FROM app_secrets WHERE owner_id = $1",
        order_by: "app_id, name",
        fields: &[
            field("app_id", "app_id::text", Text, "The app."),
            field("name", "name", Text, "The name the app calls it by."),
            field("hosts", "to_json(hosts)", TextList, "The hosts it may be sent to."),
            field("sent_as", "placement", Text, "bearer (Authorization: Bearer), header or query."),
            field("sent_in", "placement_name", Text, "The header or query parameter it is sent in (empty for bearer)."),
            field("created_at", "created_at", Time, "When you added it."),
            field("rotated_at", "rotated_at", Time, "When its value was last replaced."),
            field("last_used_at", "last_used_at", OptionalTime, "When the app last used it."),
            field("kind", "kind", Text, "key, or connection (an OAuth 2.0 access token)."),
            field("access_expires_at", "access_expires_at", OptionalTime, "A connection's: when its access token expires."),
            field("token_url", "token_url", OptionalText, "A connection's: the service's token endpoint."),
            field("revocation_url", "revocation_url", OptionalText, "A connection's: the service's revocation endpoint."),
            field("client_id", "client_id", OptionalText, "A connection's: the client id the service gave you."),
        ],
        documents: None,
    },
    RecordKind {
        file: "apps/secret_uses.json",
        title: "Uses of app secrets",
        about: "How many times each secret was used by its app, per hour.",
        tables: &["app_secret_uses"],
        from: "FROM app_secret_uses WHERE owner_id = $1",
        order_by: "app_id, name, hour",
        fields: &[
            field("app_id", "app_id::text", Text, "The app."),
            field("name", "name", Text, "The secret."),
            field("hour", "hour", Time, "The hour."),
            field("uses", "uses", Integer, "How many calls used it."),
        ],
        documents: None,
    },
];

pub const FILES: &[FileSet] = &[
    FileSet {
        title: "The apps' files",
        about: "Each app's files as they are.",
        tables: &["app_files"],
        folder: "apps/<app-id>/files/",
        select: "SELECT 'apps/' || app_id::text || '/files/' || path, content \
                 FROM app_files WHERE owner_id = $1 ORDER BY app_id, path",
    },
    FileSet {
        title: "Each app's details",
        about: "Each app's details beside its files.",
        tables: &["apps"],
        folder: "apps/<app-id>/app.json",
        select: "SELECT 'apps/' || id::text || '/app.json', convert_to(jsonb_pretty(jsonb_build_object( \
                     'id', id::text, 'name', name, 'description', description, \
                     'connect_hosts', to_jsonb(connect_hosts), 'created_at', created_at, \
                     'updated_at', updated_at, 'trashed_at', trashed_at, 'purge_at', purge_at)), 'UTF8') \
                 FROM apps WHERE owner_id = $1 ORDER BY id",
    },
    FileSet {
        title: "Publication receipts",
        about: "The signed receipt of each publication and withdrawal, as issued; the verify page checks one.",
        tables: &["app_publications"],
        folder: "apps/<app-id>/publications/",
        select: "SELECT 'apps/' || app_id::text || '/publications/' || id::text || '.json', \
                 convert_to(jsonb_pretty(receipt), 'UTF8') \
                 FROM app_publications WHERE owner_id = $1 ORDER BY app_id, at, id",
    },
];

pub const WITHHELD: &[Withheld] = &[
    Withheld {
        table: "app_secrets",
        what: "Each secret's sealed value and its last 4 characters, and each connection's sealed refresh token and client secret",
        reason: "Secrets are write-only: nobody reads one back, you included. Replace a value on the app's page; names, hosts and dates are in apps/secrets.json.",
    },
    Withheld {
        table: "app_share_links",
        what: "Each share link's token hash and password hash",
        reason: "Secrets that open the link; what each link is and how it was used is in apps/share_links.json.",
    },
    Withheld {
        table: "app_members",
        what: "The hash of each invitation's token, and who else an app you joined is shared with",
        reason: "A secret that opens the invitation, and other people's data; your invitations and memberships are in apps/people.json and apps/shared_with_me.json.",
    },
    Withheld {
        table: "app_routes",
        what: "Your apps' routes in the directory",
        reason: "They tell the server which region holds each app; the apps are in apps/apps.json.",
    },
];
