// Passkey ceremonies for ferrid's pages. A form marked data-passkey
// ("create" or "get") first posts its fields to data-options for the
// WebAuthn options, asks the browser for a passkey, then posts itself with
// the browser's answer as JSON in its "credential" field. Served from this
// origin so the pages' policy needs no inline script. Without WebAuthn the
// forms stay hidden and the page's other ways to sign in remain.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id) };
    });
  }

  function creationOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    return options;
  }

  function requestOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    return options;
  }

  function answer(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      if (response.userHandle) {
        json.response.userHandle = toText(response.userHandle);
      }
    }
    return JSON.stringify(json);
  }

  // Emptied first and filled a moment later, so that screen readers
  // announce the alert again on a second failure.
  function showError(form, button) {
    var message = form.querySelector("[data-passkey-error]");
    if (message) {
      message.textContent = "";
      message.hidden = false;
      setTimeout(function () {
        message.textContent = message.getAttribute("data-passkey-error");
      }, 100);
    }
    button.focus();
  }

  function run(form) {
    var button = form.querySelector("button");
    button.disabled = true;
    var fields = new URLSearchParams(new FormData(form));
    fields.delete("credential");
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body: fields
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("options refused");
        }
        return response.json();
      })
      .then(function (options) {
        return form.getAttribute("data-passkey") === "create"
          ? navigator.credentials.create({ publicKey: creationOptions(options) })
          : navigator.credentials.get({ publicKey: requestOptions(options) });
      })
      .then(function (credential) {
        form.elements.credential.value = answer(credential);
        form.submit();
      })
      .catch(function () {
        button.disabled = false;
        showError(form, button);
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      run(form);
    });
  });
})();
