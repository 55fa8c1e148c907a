//! The key hierarchy's unit tests: sealing, binding, wrapping and rotating.

use super::*;

const KEY: [u8; KEY_LEN] = [7; KEY_LEN];

fn aad(owner: u128) -> Vec<u8> {
    associated_data(
        OwnerId::from_uuid(Uuid::from_u128(owner)),
        &Purpose::TotpSecret.label(),
    )
}

#[test]
fn a_sealed_value_opens_to_itself_and_names_its_key_version() {
    let sealed = seal_with(&KEY, 3, &aad(1), b"the secret").unwrap();
    assert_eq!(version_of(&sealed).unwrap(), 3);
    assert_eq!(open_with(&KEY, &aad(1), &sealed).unwrap(), b"the secret");
    assert!(!sealed.windows(10).any(|w| w == b"the secret"));
    // A fresh nonce each time: the same value never seals the same way twice.
    assert_ne!(sealed, seal_with(&KEY, 3, &aad(1), b"the secret").unwrap());
}

#[test]
fn one_flipped_bit_anywhere_fails() {
    let sealed = seal_with(&KEY, 1, &aad(1), b"the secret").unwrap();
    for index in VERSION_LEN..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[index] ^= 0x01;
        assert!(open_with(&KEY, &aad(1), &tampered).is_err(), "byte {index}");
    }
    assert!(open_with(&KEY, &aad(1), &sealed[..sealed.len() - 1]).is_err());
    assert!(open_with(&KEY, &aad(1), &sealed[..5]).is_err());
}

#[test]
fn another_owner_or_purpose_or_key_fails() {
    let sealed = seal_with(&KEY, 1, &aad(1), b"the secret").unwrap();
    assert!(open_with(&KEY, &aad(2), &sealed).is_err());
    let backup = associated_data(
        OwnerId::from_uuid(Uuid::from_u128(1)),
        &Purpose::BackupCode.label(),
    );
    assert!(open_with(&KEY, &backup, &sealed).is_err());
    assert!(open_with(&[8; KEY_LEN], &aad(1), &sealed).is_err());
}

#[test]
fn an_app_secret_opens_only_for_its_owner_app_and_name() {
    let owner = OwnerId::from_uuid(Uuid::from_u128(1));
    let app = AppId::from_uuid(Uuid::from_u128(5));
    let bound =
        |owner, app, name| associated_data(owner, &Purpose::AppSecret { app, name }.label());
    let sealed = seal_with(&KEY, 1, &bound(owner, app, "API_KEY"), b"sk-value").unwrap();
    assert_eq!(
        open_with(&KEY, &bound(owner, app, "API_KEY"), &sealed).unwrap(),
        b"sk-value"
    );
    let other_app = AppId::from_uuid(Uuid::from_u128(6));
    let other_owner = OwnerId::from_uuid(Uuid::from_u128(2));
    for moved in [
        bound(owner, other_app, "API_KEY"),
        bound(owner, app, "API_KEY2"),
        bound(owner, app, "API_KE"),
        bound(other_owner, app, "API_KEY"),
        associated_data(owner, &Purpose::TotpSecret.label()),
    ] {
        assert!(open_with(&KEY, &moved, &sealed).is_err());
    }
}

#[test]
fn opaque_ids_name_their_tenant_only_to_this_server() {
    let kek = crate::platform::keys::from_setting(
        &base64::engine::general_purpose::STANDARD.encode([5u8; 32]),
    )
    .unwrap();
    let other = crate::platform::keys::from_setting(
        &base64::engine::general_purpose::STANDARD.encode([6u8; 32]),
    )
    .unwrap();
    let owner = OwnerId::random();
    let opaque = opaque_id(&kek, owner).unwrap();
    assert!(!opaque.contains(&owner.as_uuid().simple().to_string()));
    assert_eq!(open_opaque_id(&kek, &opaque), Some(owner));
    assert_eq!(open_opaque_id(&other, &opaque), None);
    assert_eq!(open_opaque_id(&kek, "not-an-id"), None);
    assert_ne!(
        opaque,
        opaque_id(&kek, owner).unwrap(),
        "a fresh nonce each time"
    );
}

#[test]
fn data_keys_wrapped_before_keys_were_separated_still_open() {
    let kek = crate::platform::keys::from_setting(
        &base64::engine::general_purpose::STANDARD.encode([5u8; 32]),
    )
    .unwrap();
    let owner = OwnerId::from_uuid(Uuid::from_u128(1));
    let (us, eu) = (
        Tenant::new(owner, Region::UsEast),
        Tenant::new(owner, Region::EuWest),
    );
    let raw = [9u8; KEY_LEN];
    let aad = wrapping_aad(owner, 1);
    let legacy = stored(seal_with(kek.legacy_wrapping_key(), 0, &aad, &raw).unwrap());
    assert_eq!(unwrap_key(&kek, us, &legacy).unwrap().bytes, raw);
    // Legacy keys were all made in the default region: nowhere else opens them.
    assert!(unwrap_key(&kek, eu, &legacy).is_err());
    // New keys are wrapped with a key of their own, which the key itself does not open.
    let wrapped = seal_with(&kek.derive(Derived::DataKeyWrapping), 0, &aad, &raw).unwrap();
    assert!(open_with(kek.legacy_wrapping_key(), &aad, &wrapped).is_err());
    assert_eq!(unwrap_key(&kek, us, &stored(wrapped)).unwrap().bytes, raw);
}

#[test]
fn each_region_wraps_with_its_own_key_and_us_east_keeps_the_old_one() {
    let kek = crate::platform::keys::from_setting(
        &base64::engine::general_purpose::STANDARD.encode([5u8; 32]),
    )
    .unwrap();
    let owner = OwnerId::from_uuid(Uuid::from_u128(1));
    let raw = [9u8; KEY_LEN];
    let aad = wrapping_aad(owner, 1);
    assert_eq!(
        kek.region_wrapping_key(Region::UsEast),
        kek.derive(Derived::DataKeyWrapping)
    );
    assert_ne!(
        kek.region_wrapping_key(Region::EuWest),
        kek.region_wrapping_key(Region::UsEast)
    );
    let in_eu = stored(seal_with(&kek.region_wrapping_key(Region::EuWest), 0, &aad, &raw).unwrap());
    assert_eq!(
        unwrap_key(&kek, Tenant::new(owner, Region::EuWest), &in_eu)
            .unwrap()
            .bytes,
        raw
    );
    assert!(unwrap_key(&kek, Tenant::new(owner, Region::UsEast), &in_eu).is_err());
}

fn stored(wrapped_key: Vec<u8>) -> WrappedKey {
    WrappedKey {
        version: 1,
        kek_id: crate::platform::keys::ROOT_WRAPPING_ID.to_owned(),
        wrapped_key,
    }
}

#[test]
fn a_rotated_wrapping_key_opens_only_what_it_wrapped() {
    let kek = crate::platform::keys::from_setting(
        &base64::engine::general_purpose::STANDARD.encode([5u8; 32]),
    )
    .unwrap();
    let rotated = kek.with_wrapping([6u8; 32]);
    let tenant = Tenant::new(OwnerId::from_uuid(Uuid::from_u128(1)), Region::EuWest);
    let raw = [9u8; KEY_LEN];
    let old = stored(
        seal_with(
            &kek.region_wrapping_key(Region::EuWest),
            0,
            &wrapping_aad(tenant.owner_id, 1),
            &raw,
        )
        .unwrap(),
    );
    let (wrapped, kek_id) = rewrap_data_key(&kek, &rotated, tenant, tenant, &old).unwrap();
    assert_eq!(kek_id, rotated.wrapping_id());
    assert_ne!(kek_id, kek.wrapping_id());
    let new = WrappedKey {
        version: 1,
        kek_id,
        wrapped_key: wrapped,
    };
    assert_eq!(unwrap_key(&rotated, tenant, &new).unwrap().bytes, raw);
    // Each ring opens what its own wrapping key wrapped, and nothing else.
    assert!(matches!(
        unwrap_key(&rotated, tenant, &old),
        Err(CryptoError::RetiredWrappingKey(_))
    ));
    assert!(matches!(
        unwrap_key(&kek, tenant, &new),
        Err(CryptoError::RetiredWrappingKey(_))
    ));
    // Everything else derived from the key-encryption key stays the same.
    assert_eq!(
        kek.derive(Derived::ReceiptSigning),
        rotated.derive(Derived::ReceiptSigning)
    );
}
