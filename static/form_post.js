// response_mode=form_post (OAuth 2.0 Form Post Response Mode): the page
// holds one form carrying the response to the client; send it at once.
// Served from this origin so the page's policy needs no inline script.
document.forms[0].submit();
