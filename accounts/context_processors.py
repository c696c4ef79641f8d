from accounts.selectors import teams_for_user


def teams(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_teams": teams_for_user(user=user),
        "current_team": getattr(request, "team", None),
        "current_membership": getattr(request, "membership", None),
    }
