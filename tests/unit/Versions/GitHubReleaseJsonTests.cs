using TalosImage.Core.Versions;
using Xunit;

namespace TalosImage.Tests.Versions;

/// <summary>GitHubReleaseJson reads a page of releases as Octokit's own SimpleJsonSerializer does, for the fields the source uses.</summary>
public class GitHubReleaseJsonTests
{
    private const string Page = """
        [
          {"url": "https://api.example/r/1", "html_url": "https://example/r/1", "id": 101, "node_id": "RE_1", "tag_name": "v1.11.5", "target_commitish": "main",
           "name": "v1.11.5", "draft": false, "prerelease": false, "created_at": "2025-11-20T10:00:00Z", "published_at": "2025-11-20T12:34:56Z", "assets": [], "body": "notes"},
          {"tag_name": "v1.12.0-beta.1", "draft": false, "prerelease": true, "published_at": "2025-12-01T08:00:00+02:00"},
          {"tag_name": "v1.12.0", "draft": true, "prerelease": false, "published_at": null},
          {"tag_name": "not-a-version", "id": 7}
        ]
        """;

    [Fact]
    public void A_page_reads_as_SimpleJson_reads_it()
    {
        var ours = new GitHubReleaseJson().Deserialize<List<Octokit.Release>>(Page);
        var theirs = new Octokit.Internal.SimpleJsonSerializer().Deserialize<List<Octokit.Release>>(Page);

        Assert.Equal(4, ours.Count);
        Assert.Equal(theirs.Select(r => (r.TagName, r.Draft, r.Prerelease, r.PublishedAt, r.Id, r.Url, r.Name)),
            ours.Select(r => (r.TagName, r.Draft, r.Prerelease, r.PublishedAt, r.Id, r.Url, r.Name)));
        Assert.Equal(new DateTimeOffset(2025, 12, 1, 6, 0, 0, TimeSpan.Zero), ours[1].PublishedAt);
        Assert.Null(ours[2].PublishedAt);
    }

    [Theory]
    [InlineData("{\"message\": \"Not Found\"}")]
    [InlineData("[1, 2]")]
    [InlineData("[{\"tag_name\": \"v1.0.0\"}")]
    public void Anything_but_a_list_of_release_objects_throws(string json)
    {
        var e = Record.Exception(() => new GitHubReleaseJson().Deserialize<List<Octokit.Release>>(json));
        Assert.True(e is FormatException or Newtonsoft.Json.JsonException, e?.GetType().Name);
    }

    [Fact]
    public void Other_answers_go_to_SimpleJson()
    {
        var error = new GitHubReleaseJson().Deserialize<Octokit.ApiError>("{\"message\": \"Bad credentials\", \"documentation_url\": \"https://docs\"}");
        Assert.Equal("Bad credentials", error.Message);
    }
}
