//! The diesel schema, shared by SQLite and PostgreSQL. It mirrors
//! `migrations/{sqlite,postgres}` and uses only types both backends share.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        email -> Text,
        name -> Nullable<Text>,
        password_hash -> Text,
        email_verified -> Bool,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        totp_secret_sealed -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        admin_role -> Nullable<Text>,
        passkeys -> BigInt,
        passwordless -> Bool,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        secret_digest -> Nullable<Text>,
        auth_method -> Text,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        created_at -> BigInt,
        id_token_signed_response_alg -> Text,
        refresh_idle_ttl -> Nullable<BigInt>,
        refresh_absolute_ttl -> Nullable<BigInt>,
        refresh_for_online_sessions -> Bool,
        backchannel_logout_uri -> Nullable<Text>,
        secret_sealed -> Nullable<Text>,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        require_mfa -> Bool,
        require_pkce -> Bool,
        rate_limit_per_minute -> Nullable<Integer>,
        disabled -> Bool,
        require_pushed_requests -> Bool,
        pairwise_sector -> Nullable<Text>,
        dpop_bound_access_tokens -> Bool,
        registration_token_digest -> Nullable<Text>,
        metadata_fetched_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    initial_access_tokens (token_digest) {
        token_digest -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        uses_left -> Nullable<BigInt>,
    }
}

diesel::table! {
    pushed_authorization_requests (uri_digest) {
        uri_digest -> Text,
        client_id -> Text,
        parameters -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    device_authorizations (device_code_digest) {
        device_code_digest -> Text,
        user_code_digest -> Text,
        client_id -> Text,
        scope -> Text,
        resources -> Text,
        status -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        poll_interval -> BigInt,
        last_polled_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    client_assertions (id) {
        id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    logout_deliveries (id) {
        id -> Text,
        client_id -> Text,
        uri -> Text,
        sub -> Text,
        sid -> Text,
        alg -> Text,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        client_id -> Text,
        user_id -> Text,
        sid -> Text,
        scope -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        amr -> Text,
        resources -> Text,
        id_token_claims -> Text,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_digest) {
        token_digest -> Text,
        grant_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        grace_used -> Bool,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        public_jwk -> Text,
        private_key_sealed -> Text,
        created_at -> BigInt,
        activates_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id_digest) {
        id_digest -> Text,
        sid -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        amr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    authorization_requests (id_digest) {
        id_digest -> Text,
        client_id -> Text,
        parameters -> Text,
        login_sid -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        mfa_user_id -> Nullable<Text>,
        mfa_step_up -> Bool,
        browser_digest -> Nullable<Text>,
    }
}

diesel::table! {
    authorization_codes (code_digest) {
        code_digest -> Text,
        client_id -> Text,
        user_id -> Text,
        sid -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        redeemed_at -> Nullable<BigInt>,
        grant_id -> Nullable<Text>,
        amr -> Text,
        resources -> Text,
        id_token_claims -> Text,
    }
}

diesel::table! {
    recovery_codes (user_id, code_digest) {
        user_id -> Text,
        code_digest -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_throttles (subject) {
        subject -> Text,
        failures -> BigInt,
        locked_until -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    email_tokens (token_digest) {
        token_digest -> Text,
        user_id -> Text,
        purpose -> Text,
        email -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> BigInt,
        event -> Text,
        outcome -> Text,
        actor -> Nullable<Text>,
        subject -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        detail -> Nullable<Text>,
        repeats -> Integer,
        last_at -> Nullable<BigInt>,
        aggregate_key -> Nullable<Text>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> BigInt,
    }
}

diesel::table! {
    apis (identifier) {
        identifier -> Text,
        name -> Text,
        access_token_ttl -> Nullable<BigInt>,
        signing_alg -> Nullable<Text>,
        introspection_client_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_scopes (name) {
        name -> Text,
        api_identifier -> Text,
        description -> Text,
    }
}

diesel::table! {
    api_roles (api_identifier, name) {
        api_identifier -> Text,
        name -> Text,
        description -> Text,
    }
}

diesel::table! {
    user_groups (name) {
        name -> Text,
        description -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_group_members (group_name, user_id) {
        group_name -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    role_grants (api_identifier, role, principal_kind, principal) {
        api_identifier -> Text,
        role -> Text,
        principal_kind -> Text,
        principal -> Text,
    }
}

diesel::joinable!(api_scopes -> apis (api_identifier));
diesel::joinable!(api_roles -> apis (api_identifier));
diesel::joinable!(user_group_members -> user_groups (group_name));
diesel::joinable!(user_group_members -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(authorization_codes -> users (user_id));
diesel::joinable!(authorization_codes -> clients (client_id));
diesel::joinable!(authorization_requests -> clients (client_id));
diesel::joinable!(pushed_authorization_requests -> clients (client_id));
diesel::joinable!(device_authorizations -> clients (client_id));
diesel::joinable!(consents -> users (user_id));
diesel::joinable!(consents -> clients (client_id));
diesel::joinable!(refresh_tokens -> grants (grant_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(grants -> clients (client_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));

diesel::table! {
    admin_sessions (id_digest) {
        id_digest -> Text,
        user_id -> Text,
        sid -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        reauthenticated_at -> BigInt,
    }
}

diesel::table! {
    branding (id) {
        id -> Integer,
        product_name -> Text,
        logo -> Nullable<Binary>,
        logo_type -> Nullable<Text>,
        accent_colour -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    token_counts (hour, grant_type) {
        hour -> BigInt,
        grant_type -> Text,
        issued -> BigInt,
    }
}

diesel::table! {
    installation (id) {
        id -> Integer,
        issuer -> Text,
        master_key_check -> Text,
        created_at -> BigInt,
        pairwise_salt_sealed -> Nullable<Text>,
        admin_passkeys_required -> Bool,
    }
}

diesel::joinable!(admin_sessions -> users (user_id));

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        credential_id -> Text,
        public_key -> Text,
        algorithm -> BigInt,
        sign_count -> BigInt,
        backup_eligible -> Bool,
        backed_up -> Bool,
        aaguid -> Text,
        transports -> Text,
        name -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webauthn_challenges (challenge_digest) {
        challenge_digest -> Text,
        purpose -> Text,
        binding -> Text,
        user_id -> Nullable<Text>,
        expires_at -> BigInt,
    }
}

diesel::joinable!(passkeys -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    passkeys,
    webauthn_challenges,
    installation,
    pushed_authorization_requests,
    device_authorizations,
    initial_access_tokens,
    admin_sessions,
    branding,
    token_counts,
    apis,
    api_scopes,
    api_roles,
    user_groups,
    user_group_members,
    role_grants,
    users,
    clients,
    signing_keys,
    sessions,
    authorization_requests,
    authorization_codes,
    consents,
    leases,
    grants,
    refresh_tokens,
    revoked_access_tokens,
    logout_deliveries,
    client_assertions,
    recovery_codes,
    login_throttles,
    email_tokens,
    audit_events,
);
