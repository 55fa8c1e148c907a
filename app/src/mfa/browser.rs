//! The browser's side of passkeys: WebAuthn through `navigator.credentials`, using the JSON forms
//! of its options and answers (WebAuthn Level 3), so the server's JSON passes through as it is.
//! On the server these functions never run (they answer clicks); there they report that no
//! browser is at hand.

/// Why the browser gave no passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptError {
    /// The person closed the prompt, or it timed out.
    Cancelled,
    /// The page stopped waiting (an autofill request replaced by the button).
    Aborted,
    AlreadyRegistered,
    WrongSite,
    Unsupported,
    Failed,
}

impl PromptError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Cancelled | Self::Aborted => {
                "The passkey prompt was closed or timed out. Try again when you are ready."
            }
            Self::AlreadyRegistered => "This authenticator already holds a passkey for your account.",
            Self::WrongSite => "Passkeys work only at this site's own address. Open it from its usual link and try again.",
            Self::Unsupported => "This browser cannot use passkeys. Use your password, an authenticator app or a backup code.",
            Self::Failed => "The passkey prompt failed. Try again.",
        }
    }
}

/// The text of a failed passkey attempt: the server's refusal or the browser's reason; nothing
/// when the page itself stopped waiting.
pub fn prompt_failure(error: Result<crate::ui::FormError, PromptError>) -> Option<String> {
    match error {
        Err(PromptError::Aborted) => None,
        Err(reason) => Some(reason.message().to_owned()),
        Ok(error) => Some(error.to_string()),
    }
}

#[cfg(feature = "hydrate")]
mod web {
    use js_sys::{Function, Object, Promise, Reflect, JSON};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::AbortSignal;

    use super::PromptError;

    fn get(target: &JsValue, key: &str) -> Option<JsValue> {
        Reflect::get(target, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn public_key_credential() -> Option<JsValue> {
        get(&js_sys::global(), "PublicKeyCredential")
    }

    fn reason(error: JsValue) -> PromptError {
        match get(&error, "name").and_then(|n| n.as_string()).as_deref() {
            Some("NotAllowedError") => PromptError::Cancelled,
            Some("AbortError") => PromptError::Aborted,
            Some("InvalidStateError") => PromptError::AlreadyRegistered,
            Some("SecurityError") => PromptError::WrongSite,
            Some("NotSupportedError") => PromptError::Unsupported,
            _ => PromptError::Failed,
        }
    }

    /// Calls a static method of PublicKeyCredential that answers a promise of a boolean.
    async fn ask(method: &str) -> bool {
        let Some(class) = public_key_credential() else {
            return false;
        };
        let Some(function) = get(&class, method).and_then(|f| f.dyn_into::<Function>().ok()) else {
            return false;
        };
        let Ok(promise) = function.call0(&class) else {
            return false;
        };
        match promise.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise)
                .await
                .is_ok_and(|answer| answer.as_bool() == Some(true)),
            Err(_) => false,
        }
    }

    pub(super) async fn platform_authenticator_available() -> bool {
        ask("isUserVerifyingPlatformAuthenticatorAvailable").await
    }

    pub(super) async fn autofill_available() -> bool {
        ask("isConditionalMediationAvailable").await
    }

    /// `PublicKeyCredential.<parser>(json.publicKey)`: the options with their buffers decoded.
    fn parse_options(parser: &str, options_json: &str) -> Result<JsValue, PromptError> {
        let class = public_key_credential().ok_or(PromptError::Unsupported)?;
        let parse = get(&class, parser)
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or(PromptError::Unsupported)?;
        let json = JSON::parse(options_json).map_err(|_| PromptError::Failed)?;
        let public_key = get(&json, "publicKey").ok_or(PromptError::Failed)?;
        parse.call1(&class, &public_key).map_err(reason)
    }

    async fn run(method: &str, request: &Object) -> Result<String, PromptError> {
        let credentials = get(&js_sys::global(), "navigator")
            .and_then(|n| get(&n, "credentials"))
            .ok_or(PromptError::Unsupported)?;
        let call = get(&credentials, method)
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or(PromptError::Unsupported)?;
        let promise = call
            .call1(&credentials, request)
            .map_err(reason)?
            .dyn_into::<Promise>()
            .map_err(|_| PromptError::Failed)?;
        let credential = JsFuture::from(promise).await.map_err(reason)?;
        if credential.is_null() {
            return Err(PromptError::Cancelled);
        }
        // JSON.stringify uses the credential's toJSON(): base64url buffers, as the server reads.
        JSON::stringify(&credential)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or(PromptError::Unsupported)
    }

    fn request(public_key: &JsValue) -> Object {
        let request = Object::new();
        let _ = Reflect::set(&request, &"publicKey".into(), public_key);
        request
    }

    pub(super) async fn copy(text: &str) -> bool {
        let Some(clipboard) =
            get(&js_sys::global(), "navigator").and_then(|n| get(&n, "clipboard"))
        else {
            return false;
        };
        let clipboard: web_sys::Clipboard = clipboard.unchecked_into();
        JsFuture::from(clipboard.write_text(text)).await.is_ok()
    }

    pub(super) async fn create(options_json: &str) -> Result<String, PromptError> {
        let public_key = parse_options("parseCreationOptionsFromJSON", options_json)?;
        run("create", &request(&public_key)).await
    }

    pub(super) async fn authenticate(
        options_json: &str,
        autofill: Option<AbortSignal>,
    ) -> Result<String, PromptError> {
        let public_key = parse_options("parseRequestOptionsFromJSON", options_json)?;
        let request = request(&public_key);
        if let Some(signal) = autofill {
            let _ = Reflect::set(&request, &"mediation".into(), &"conditional".into());
            let _ = Reflect::set(&request, &"signal".into(), &signal);
        }
        run("get", &request).await
    }
}

/// A pending autofill request, which the passkey button cancels before opening its own prompt.
#[derive(Clone)]
pub struct Autofill {
    #[cfg(feature = "hydrate")]
    controller: Option<web_sys::AbortController>,
}

impl Autofill {
    pub fn new() -> Self {
        Self {
            #[cfg(feature = "hydrate")]
            controller: web_sys::AbortController::new().ok(),
        }
    }

    pub fn cancel(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(controller) = &self.controller {
            controller.abort();
        }
    }
}

impl Default for Autofill {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the page runs as the installed app (PWA), where the device's own authenticator is
/// the natural choice.
pub fn installed_app() -> bool {
    #[cfg(feature = "hydrate")]
    return web_sys::window()
        .and_then(|w| w.match_media("(display-mode: standalone)").ok().flatten())
        .is_some_and(|query| query.matches());
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Whether the device has its own authenticator with a biometric or screen lock.
pub async fn platform_authenticator_available() -> bool {
    #[cfg(feature = "hydrate")]
    return web::platform_authenticator_available().await;
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Whether the browser offers passkeys in the username field's autofill.
pub async fn autofill_available() -> bool {
    #[cfg(feature = "hydrate")]
    return web::autofill_available().await;
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Puts text on the clipboard; false when the browser refused.
pub async fn copy(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    return web::copy(text).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}

/// Makes a passkey from the server's registration options; answers the browser's JSON.
pub async fn create(options_json: &str) -> Result<String, PromptError> {
    #[cfg(feature = "hydrate")]
    return web::create(options_json).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options_json;
        Err(PromptError::Unsupported)
    }
}

/// Asks for a passkey: through a prompt, or quietly through autofill when `autofill` is given.
pub async fn authenticate(
    options_json: &str,
    autofill: Option<&Autofill>,
) -> Result<String, PromptError> {
    #[cfg(feature = "hydrate")]
    return web::authenticate(
        options_json,
        autofill
            .and_then(|a| a.controller.as_ref())
            .map(|c| c.signal()),
    )
    .await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (options_json, autofill);
        Err(PromptError::Unsupported)
    }
}
