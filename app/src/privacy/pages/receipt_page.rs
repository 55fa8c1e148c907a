//! `/privacy/verify-receipt`: anyone can check a receipt.

use leptos::prelude::*;
use leptos_meta::Title;

use super::privacy_page::category_names;

use crate::{
    privacy::{api::VerifyReceipt, model::ReceiptVerdict},
    ui::{action_error, ButtonKind, FormNotice, LINK},
};

/// `/privacy/verify-receipt`: anyone can check a receipt.
#[component]
pub fn VerifyReceiptPage() -> impl IntoView {
    let verify = ServerAction::<VerifyReceipt>::new();
    let error = action_error(verify);
    let field_error = move || error.get().and_then(|e| e.for_field("receipt"));
    let verdict = move || {
        match verify.value().get() {
        Some(Ok(ReceiptVerdict::Genuine { receipt_id, subject, recorded, method, granted, denied })) => view! {
            <div class="rounded border border-emerald-700 bg-emerald-50 p-4 dark:bg-emerald-950">
                <p class="font-bold">
                    "Genuine: Custodian signed this receipt and nothing in it has changed."
                </p>
                <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 text-sm">
                    <dt>"Receipt"</dt>
                    <dd>{receipt_id}</dd>
                    <dt>"Subject"</dt>
                    <dd>{subject}</dd>
                    <dt>"Recorded"</dt>
                    <dd>{recorded}</dd>
                    <dt>"How"</dt>
                    <dd>{method}</dd>
                    <dt>"Allowed"</dt>
                    <dd>{category_names(&granted)}</dd>
                    <dt>"Refused"</dt>
                    <dd>{category_names(&denied)}</dd>
                </dl>
            </div>
        }.into_any(),
        Some(Ok(ReceiptVerdict::Residency { account, region, database, key_id, generated })) => view! {
            <div class="rounded border border-emerald-700 bg-emerald-50 p-4 dark:bg-emerald-950">
                <p class="font-bold">
                    "Genuine: Custodian signed this residency attestation and nothing in it has changed."
                </p>
                <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 text-sm">
                    <dt>"Account"</dt>
                    <dd>{account}</dd>
                    <dt>"Data region"</dt>
                    <dd>{region}</dd>
                    <dt>"Database"</dt>
                    <dd>{database}</dd>
                    <dt>"Key"</dt>
                    <dd>{key_id}</dd>
                    <dt>"Generated"</dt>
                    <dd>{generated}</dd>
                </dl>
            </div>
        }.into_any(),
        Some(Ok(ReceiptVerdict::Deletion { ledger_entry, requested, purged, rows_removed, data_key_destroyed })) => view! {
            <div class="rounded border border-emerald-700 bg-emerald-50 p-4 dark:bg-emerald-950">
                <p class="font-bold">
                    "Genuine: Custodian signed this deletion receipt and nothing in it has changed."
                </p>
                <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 text-sm">
                    <dt>"Deletion requested"</dt>
                    <dd>{requested}</dd>
                    <dt>"Purged"</dt>
                    <dd>{purged}</dd>
                    <dt>"Rows removed"</dt>
                    <dd>{rows_removed.to_string()}</dd>
                    <dt>"Data key destroyed"</dt>
                    <dd>{if data_key_destroyed { "yes" } else { "no" }}</dd>
                    <dt>"Erasure ledger entry"</dt>
                    <dd>{ledger_entry}</dd>
                </dl>
            </div>
        }.into_any(),
        Some(Ok(ReceiptVerdict::Publication { action, app_name, app_id, author, at, files, override_reason })) => view! {
            <div class="rounded border border-emerald-700 bg-emerald-50 p-4 dark:bg-emerald-950">
                <p class="font-bold">
                    "Genuine: Custodian signed this publication receipt and nothing in it has changed."
                </p>
                <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 text-sm">
                    <dt>"What happened"</dt>
                    <dd>
                        {if action == "published" {
                            "Published to Discover"
                        } else {
                            "Withdrawn from Discover"
                        }}
                    </dd>
                    <dt>"App"</dt>
                    <dd>{format!("{app_name} ({app_id})")}</dd>
                    <dt>"Author shown"</dt>
                    <dd>{author}</dd>
                    <dt>"When"</dt>
                    <dd>{at}</dd>
                    <dt>"Files made public"</dt>
                    <dd>{files.to_string()}</dd>
                    <dt>"Published despite the check"</dt>
                    <dd>{override_reason.unwrap_or_else(|| "no".to_owned())}</dd>
                </dl>
            </div>
        }.into_any(),
        Some(Ok(ReceiptVerdict::RightsClosure { request_id, received, closed, rights })) => view! {
            <div class="rounded border border-emerald-700 bg-emerald-50 p-4 dark:bg-emerald-950">
                <p class="font-bold">
                    "Genuine: Custodian signed this closure receipt of a rights request and nothing in it has changed."
                </p>
                <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 text-sm">
                    <dt>"Request"</dt>
                    <dd>{request_id}</dd>
                    <dt>"Received"</dt>
                    <dd>{received}</dd>
                    <dt>"Closed"</dt>
                    <dd>{closed}</dd>
                    <dt>"Rights"</dt>
                    <dd>
                        <ul>
                            {rights
                                .into_iter()
                                .map(|line| view! { <li>{line}</li> })
                                .collect_view()}
                        </ul>
                    </dd>
                </dl>
            </div>
        }.into_any(),
        Some(Ok(ReceiptVerdict::Tampered)) => view! {
            <p class="rounded border border-red-700 bg-red-50 p-4 font-bold text-red-800 dark:bg-red-950 dark:text-red-200">
                "Not genuine: this document was changed after it was signed, or Custodian did not sign it."
            </p>
        }.into_any(),
        Some(Ok(ReceiptVerdict::Malformed(why))) => view! {
            <p class="rounded border border-red-700 bg-red-50 p-4 text-red-800 dark:bg-red-950 dark:text-red-200">
                <strong>"This is not a readable receipt. "</strong>
                {why}
            </p>
        }.into_any(),
        _ => ().into_any(),
    }
    };
    view! {
        <Title text="Verify a receipt" />
        <h1 class="text-3xl font-bold">"Verify a consent receipt"</h1>
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "Paste a consent receipt downloaded from the Privacy page, a residency attestation from the Account page, or a closure receipt of a rights request from Your data. We check its Ed25519 signature against our "
            <a href="/.well-known/consent-receipt-key.json" rel="external" class=LINK>
                "published public key"
            </a> "."
        </p>
        <ActionForm action=verify attr:class="mt-6 flex max-w-prose flex-col gap-3">
            <label for="receipt" class="font-medium">
                "Receipt"
            </label>
            <textarea
                id="receipt"
                name="receipt"
                rows="12"
                required
                aria-invalid=move || field_error().is_some().then_some("true")
                aria-describedby="receipt-error"
                class="rounded border border-slate-400 bg-white px-3 py-2 font-mono text-sm dark:bg-slate-900"
            ></textarea>
            <p
                id="receipt-error"
                role="alert"
                class="text-sm font-medium text-red-700 dark:text-red-300"
            >
                {field_error}
            </p>
            <FormNotice error=Signal::derive(move || {
                error.get().filter(|e| e.for_field("receipt").is_none())
            }) />
            <button type="submit" class=ButtonKind::Primary.class()>
                "Verify receipt"
            </button>
        </ActionForm>
        <div role="status" class="mt-6 max-w-prose">
            {verdict}
        </div>
    }
}
