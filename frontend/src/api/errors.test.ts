import { describe, expect, it } from "vitest";
import { ApiError, describeErrorBody, errorMessage, NETWORK_ERROR_MESSAGE } from "./errors";

describe("describeErrorBody", () => {
  it("uses DRF's detail", () => {
    expect(describeErrorBody({ detail: "Invalid username or password." }, 400)).toBe(
      "Invalid username or password.",
    );
  });

  it("names the fields of field errors", () => {
    expect(
      describeErrorBody({ username: ["This field is required."], display_name: ["Too long.", "Bad."] }, 400),
    ).toBe("Username: This field is required. Display name: Too long. Display name: Bad.");
  });

  it("leaves non-field errors unprefixed", () => {
    expect(describeErrorBody({ non_field_errors: ["Passwords do not match."] }, 400)).toBe(
      "Passwords do not match.",
    );
  });

  it("rewords CSRF failures", () => {
    expect(describeErrorBody({ detail: "CSRF Failed: CSRF token missing." }, 403)).toMatch(/security token/);
  });

  it("falls back on the status for bodies it cannot read", () => {
    expect(describeErrorBody("<html>oops</html>", 500)).toMatch(/error 500/);
    expect(describeErrorBody(null, 404)).toBe("The requested item was not found.");
  });
});

describe("errorMessage", () => {
  it("reads ApiErrors, network failures and anything else", () => {
    expect(errorMessage(new ApiError(400, { detail: "Nope." }))).toBe("Nope.");
    expect(errorMessage(new TypeError("Failed to fetch"))).toBe(NETWORK_ERROR_MESSAGE);
    expect(errorMessage("??")).toBe("Something went wrong. Try again.");
  });
});
