//! Signing up, in and out: invites (promise P12), passwords (P2), sessions (P4), address
//! verification and password reset. Pages here, server functions in `api`, server-only logic
//! in the other modules.

#[cfg(feature = "ssr")]
pub mod accounts;
pub mod api;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod invites;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod recovery;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod signin;
#[cfg(feature = "ssr")]
pub mod sudo;
#[cfg(feature = "ssr")]
pub mod throttle;
#[cfg(feature = "ssr")]
pub mod tokens;

use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::mfa::{
    api::{sudo_options, ConfirmSudoCode, PasskeyPurpose},
    PasskeyButton,
};
use crate::ui::{
    form::{action_error, query_notice, Field, FormError, FormNotice, Notice, Submit},
    LINK,
};
use api::{
    ConfirmSudo, NotMe, Region, RequestPasswordReset, ResetPassword, SessionEnd, SignIn, SignOut,
    SignUp, VerifyEmail,
};

/// Paths that need a signed-in person; the server sends anyone else to sign in first.
pub const PROTECTED_PREFIXES: [&str; 2] = ["/account", "/security"];

pub fn is_protected(path: &str) -> bool {
    PROTECTED_PREFIXES
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")))
}

/// A value from the page's query string.
pub fn query_value(key: &'static str) -> Signal<Option<String>> {
    let query = use_query_map();
    Signal::derive(move || query.read().get(key))
}

const FORM: &str = "mt-6 flex max-w-md flex-col gap-5";

/// The page frame of the sign-in and sign-up pages.
#[component]
fn AuthPage(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=title />
        <h1 class="text-3xl font-bold">{title}</h1>
        {children()}
    }
}

/// A password field with a strength meter that follows typing (when JavaScript runs). The
/// server judges with the same rules when the form is sent.
#[component]
pub fn NewPasswordField(
    #[prop(into)] error: Signal<Option<FormError>>,
    #[prop(into)] context: Signal<(String, String)>,
    #[prop(default = "New password")] label: &'static str,
) -> impl IntoView {
    let check = Action::new(move |(password, email, name): &(String, String, String)| {
        password_strength(password.clone(), email.clone(), name.clone())
    });
    let pending_check = StoredValue::new(None::<TimeoutHandle>);
    // A check still waiting when the form is sent and the page moves on must not fire into a
    // component that is gone.
    on_cleanup(move || {
        if let Some(handle) = pending_check.try_get_value().flatten() {
            handle.clear();
        }
    });
    let on_input = Callback::new(move |password: String| {
        if let Some(handle) = pending_check.get_value() {
            handle.clear();
        }
        let (email, name) = context.get_untracked();
        let handle = set_timeout_with_handle(
            move || {
                check.dispatch((password, email, name));
            },
            std::time::Duration::from_millis(250),
        )
        .ok();
        pending_check.set_value(handle);
    });
    let reading = move || check.value().get().and_then(Result::ok);
    view! {
        <Field
            label=label
            name="password"
            kind="password"
            autocomplete="new-password"
            hint="At least 12 characters. Long phrases of unrelated words are strong and easy to remember."
            error=error
            on_input=on_input
        />
        <div class="flex flex-col gap-1">
            <meter
                min="0"
                max="4"
                low="2"
                high="3"
                optimum="4"
                value=move || reading().map_or(0, |r| r.score)
                aria-label="Password strength"
                class="h-2 w-full"
            ></meter>
            <p aria-live="polite" class="text-sm text-slate-700 dark:text-slate-300">
                {move || {
                    reading()
                        .map(|r| {
                            let verdict = match (r.acceptable, r.score) {
                                (false, _) => "Too weak",
                                (true, 3) => "Strong",
                                _ => "Very strong",
                            };
                            format!("Strength: {verdict}. {}", r.advice)
                        })
                }}
            </p>
        </div>
    }
}

use api::password_strength;

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    let invite = query_value("invite");
    let (email, set_email) = signal(String::new());
    let (name, set_name) = signal(String::new());
    view! {
        <AuthPage title="Create your account">
            <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
                "Custodian is invite-only. Already have an account? "
                <A href="/signin" attr:class=LINK>"Sign in"</A>
            </p>
            <ActionForm action=action attr:class=FORM attr:novalidate="true">
                <FormNotice error=error />
                <Field
                    label="Invite code"
                    name="invite"
                    autocomplete="off"
                    value=invite.get_untracked().unwrap_or_default()
                    error=error
                />
                <Field
                    label="Email address"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    error=error
                    on_input=Callback::new(move |v| set_email.set(v))
                />
                <Field
                    label="Display name"
                    name="display_name"
                    autocomplete="name"
                    error=error
                    on_input=Callback::new(move |v| set_name.set(v))
                />
                <NewPasswordField
                    label="Password"
                    error=error
                    context=Signal::derive(move || (email.get(), name.get()))
                />
                <fieldset class="flex flex-col gap-2">
                    <legend class="font-medium">"Data region"</legend>
                    <p class="text-sm text-slate-700 dark:text-slate-300">
                        "Where your data is stored. It cannot be changed later."
                    </p>
                    {Region::ALL
                        .into_iter()
                        .map(|region| {
                            let id = format!("region-{}", region.as_str());
                            view! {
                                <div class="flex items-center gap-2">
                                    <input
                                        type="radio"
                                        id=id.clone()
                                        name="region"
                                        value=region.as_str()
                                        checked=region == Region::UsEast
                                    />
                                    <label for=id>{region.label()}</label>
                                </div>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <Submit label="Create account" pending=action.pending() />
            </ActionForm>
        </AuthPage>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action);
    let reason = Signal::derive(move || {
        query_value("reason")
            .get()
            .and_then(|r| SessionEnd::from_query(&r))
            .map(|r| r.message().to_owned())
    });
    let next = query_value("next");
    view! {
        <AuthPage title="Sign in">
            <div class="mt-4 flex max-w-md flex-col gap-3">
                <Notice message=query_notice() />
                <Notice message=reason />
            </div>
            <ActionForm action=action attr:class=FORM attr:novalidate="true">
                <FormNotice error=error />
                <input type="hidden" name="next" value=move || next.get().unwrap_or_default() />
                // "webauthn": the browser may offer passkeys among the field's suggestions.
                <Field label="Email address" name="email" kind="email" autocomplete="username webauthn" error=error />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    error=error
                />
                <div class="flex items-center gap-2">
                    <input type="checkbox" id="remember" name="remember" value="on" />
                    <label for="remember">"Remember this device for 30 days"</label>
                </div>
                <Submit label="Sign in" pending=action.pending() />
            </ActionForm>
            <crate::mfa::PasskeySignIn />
            <p class="mt-6 flex gap-6">
                <A href="/forgot-password" attr:class=LINK>"Forgot your password?"</A>
                <A href="/signup" attr:class=LINK>"Create an account"</A>
            </p>
        </AuthPage>
    }
}

/// Sign-out, as a button that posts (nothing changes on GET).
#[component]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=action>
            <button type="submit" class="rounded border border-slate-400 px-3 py-1 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800">
                "Sign out"
            </button>
        </ActionForm>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(action);
    view! {
        <AuthPage title="Reset your password">
            <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
                "Enter the address of your account. We will mail you a link to choose a new password."
            </p>
            <div class="mt-4 max-w-md">
                <Notice message=query_notice() />
            </div>
            <ActionForm action=action attr:class=FORM attr:novalidate="true">
                <FormNotice error=error />
                <Field label="Email address" name="email" kind="email" autocomplete="email" error=error />
                <Submit label="Send the link" pending=action.pending() />
            </ActionForm>
        </AuthPage>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action);
    let token = query_value("token");
    let after_not_me = query_value("after").get_untracked().as_deref() == Some("not-me");
    view! {
        <AuthPage title="Choose a new password">
            {after_not_me.then(|| view! {
                <p role="status" class="mt-4 max-w-prose rounded border border-emerald-700 bg-emerald-50 px-4 py-3 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100">
                    "Every session of your account was signed out. Choose a new password now, and remove the sign-in methods you did not add."
                </p>
            })}
            <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
                "Every session of your account will be signed out."
            </p>
            <ActionForm action=action attr:class=FORM attr:novalidate="true">
                <FormNotice error=error />
                <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
                <NewPasswordField error=error context=Signal::derive(|| (String::new(), String::new())) />
                <Field
                    label="New password again"
                    name="confirm"
                    kind="password"
                    autocomplete="new-password"
                    error=error
                />
                <div class="flex items-start gap-2">
                    <input type="checkbox" id="remove-factors" name="remove_factors" value="on" checked=after_not_me class="mt-1" />
                    <label for="remove-factors">
                        "Also remove all passkeys and authenticator apps"
                        <span class="block text-sm text-slate-700 dark:text-slate-300">
                            "If someone else got into your account, they may have added their own. You can add yours again afterwards."
                        </span>
                    </label>
                </div>
                <Submit label="Set the new password" pending=action.pending() />
            </ActionForm>
        </AuthPage>
    }
}

/// The page a mailed "this wasn't me" link opens: a button that signs out every session (on POST,
/// never on GET) and goes on to choose a new password.
#[component]
pub fn NotMePage() -> impl IntoView {
    let action = ServerAction::<NotMe>::new();
    let error = action_error(action);
    let token = query_value("token");
    view! {
        <AuthPage title="This wasn't me">
            <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
                "If you did not make the change we mailed you about, someone else may be signed in to your account. This signs out every session of your account at once; then you choose a new password and can remove the sign-in methods you did not add."
            </p>
            <ActionForm action=action attr:class=FORM>
                <FormNotice error=error />
                <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
                <Submit label="Sign out everywhere and secure my account" pending=action.pending() />
            </ActionForm>
        </AuthPage>
    }
}

/// Opening a mailed link shows a button: the change happens on POST, never on GET.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    let error = action_error(action);
    let token = query_value("token");
    view! {
        <AuthPage title="Verify your email address">
            <ActionForm action=action attr:class=FORM>
                <FormNotice error=error />
                <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
                <Submit label="Verify my address" pending=action.pending() />
            </ActionForm>
        </AuthPage>
    }
}

/// Sends a form again, with everything typed into it (after sudo mode is granted).
pub fn resubmit(form: NodeRef<html::Form>) -> Callback<()> {
    Callback::new(move |()| {
        if let Some(form) = form.get_untracked() {
            let _ = form.request_submit();
        }
    })
}

/// An action's error other than the request for the password, for the form's own notice.
pub fn besides_sudo(error: Signal<Option<FormError>>) -> Signal<Option<FormError>> {
    Signal::derive(move || error.get().filter(|e| *e != FormError::SudoRequired))
}

/// Asks for the password (or, when the account has them, a passkey or an authenticator code)
/// inline when the action's `error` says it needs a recent re-authentication, then goes on with
/// the action (`then`).
#[component]
pub fn SudoPrompt(
    #[prop(into)] error: Signal<Option<FormError>>,
    then: Callback<()>,
) -> impl IntoView {
    let needed = move || error.get() == Some(FormError::SudoRequired);
    let confirm = ServerAction::<ConfirmSudo>::new();
    let confirm_error = action_error(confirm);
    Effect::new(move |_| {
        if let Some(Ok(())) = confirm.value().get() {
            confirm.value().set(None);
            then.run(());
        }
    });
    view! {
        <Show when=needed>
            <section
                aria-labelledby="sudo-heading"
                class="mt-4 max-w-md rounded border border-amber-700 bg-amber-50 p-4 dark:bg-amber-950"
            >
                <h3 id="sudo-heading" class="font-semibold">"Confirm it is you"</h3>
                <p class="mt-1 text-sm">
                    "This change needs you to confirm who you are: sensitive changes ask again a few minutes after you last did, and adding a sign-in method always asks once after signing in."
                </p>
                <ActionForm action=confirm attr:class="mt-3 flex flex-col gap-3">
                    <FormNotice error=confirm_error />
                    <Field
                        label="Your password"
                        name="sudo_password"
                        kind="password"
                        autocomplete="current-password"
                        error=confirm_error
                    />
                    <Submit label="Confirm and continue" pending=confirm.pending() />
                </ActionForm>
                <SudoAlternatives then />
            </section>
        </Show>
    }
}

/// A passkey or an authenticator code instead of the password, when the account has them.
/// Created only when the prompt shows, so pages that never ask do not look them up.
#[component]
fn SudoAlternatives(then: Callback<()>) -> impl IntoView {
    let by_code = ServerAction::<ConfirmSudoCode>::new();
    let code_error = action_error(by_code);
    let options = Resource::new(|| (), |()| sudo_options());
    Effect::new(move |_| {
        if let Some(Ok(())) = by_code.value().get() {
            by_code.value().set(None);
            then.run(());
        }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || options.get().and_then(Result::ok).map(|options| view! {
                {options.passkey.then(|| view! {
                    <div class="mt-4">
                        <PasskeyButton purpose=PasskeyPurpose::Sudo label="Confirm with a passkey" on_done=then />
                    </div>
                })}
                {options.totp.then(|| view! {
                    <ActionForm action=by_code attr:class="mt-4 flex flex-col gap-3">
                        <FormNotice error=code_error />
                        <Field
                            label="Or a code from your authenticator app"
                            name="sudo_code"
                            autocomplete="one-time-code"
                            error=code_error
                        />
                        <Submit label="Confirm with the code" pending=by_code.pending() />
                    </ActionForm>
                })}
            })}
        </Suspense>
    }
}
