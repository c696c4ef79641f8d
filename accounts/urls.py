from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("team/switch/", views.team_switch, name="team_switch"),
    path("team/", views.team_members_page, name="team"),
    path("team/members/<int:user_id>/role/", views.team_member_role, name="member_role"),
    path("team/members/<int:user_id>/remove/", views.team_member_remove, name="member_remove"),
    path("team/members/<int:user_id>/link/", views.team_member_link, name="member_link"),
    path("set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set_password"),
]
